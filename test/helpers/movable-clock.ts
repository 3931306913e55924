// A clock a test moves forward (windows of the spending limits roll on without waiting); the
// broker and the links' connect tokens both read it.
export interface MovableClock {
  nowMs(): number;
  advance(ms: number): void;
}

export function movableClock(): MovableClock {
  let offsetMs = 0;
  return { nowMs: () => Date.now() + offsetMs, advance: (ms) => void (offsetMs += ms) };
}
