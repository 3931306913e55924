// Ctrl-C (and SIGTERM) during a run: the first one ends the run early but still winds the fleet
// down, settles and checks everything; a second one quits at once. Either way the broker child
// process does not outlive the simulator.

export async function withInterrupt<T>(say: (line: string) => void, work: (stop: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    say('\nstopping: waiting for every payment to be answered, then settling and checking (Ctrl-C again to quit at once)');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
