// The live-event stream (/api/events) through EventSource. The token goes in the query string
// because EventSource cannot send an Authorization header. EventSource retries dropped
// connections itself; a refused one (401, 503) closes it, so that case is retried here after a
// pause, and reported as 'down' so the app can check whether the token is still good.

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'down';

export const LIVE_EVENTS = ['hello', 'rate', 'settlement', 'device.connected', 'device.disconnected', 'device.enrolled', 'device.disabled', 'device.enabled', 'wallet.funded', 'wallet.payout', 'fees.payout', 'wallet.moved', 'channel.closed', 'channel.closing', 'device.double-signed', 'device.rekeyed', 'alarms'] as const;
export type LiveEventName = (typeof LIVE_EVENTS)[number];

const REOPEN_AFTER_MS = 5_000;

export function openLiveStream(token: string, onEvent: (name: LiveEventName, data: unknown) => void, onStatus: (status: LiveStatus) => void): () => void {
  let source: EventSource | null = null;
  let timer: number | undefined;
  const open = (): void => {
    const current = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
    source = current;
    onStatus('connecting');
    current.addEventListener('open', () => onStatus('live'));
    current.addEventListener('error', () => {
      if (current.readyState !== EventSource.CLOSED) return onStatus('reconnecting');
      onStatus('down');
      timer = window.setTimeout(open, REOPEN_AFTER_MS);
    });
    for (const name of LIVE_EVENTS) {
      current.addEventListener(name, (event) => onEvent(name, JSON.parse((event as MessageEvent<string>).data) as unknown));
    }
  };
  open();
  return () => {
    window.clearTimeout(timer);
    source?.close();
  };
}
