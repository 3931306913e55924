// Time on the wire is whole unix seconds (expiries) or milliseconds (connect tokens). The clock
// itself is always injected; this only converts its reading.

/** Whole unix seconds of a millisecond clock reading, as the u64 the encodings carry. */
export const secondsOf = (nowMs: number): bigint => BigInt(Math.floor(nowMs / 1000));
