// Every bound of the operator HTTP surface, named, unit last [DESIGN rule 9].

/** Largest request body accepted (admin actions carry a few hundred bytes). */
export const HTTP_BODY_BYTES_MAX = 16_384;
/** Page sizes of list routes. */
export const PAGE_LIMIT_DEFAULT = 50;
export const PAGE_LIMIT_MAX = 500;
/** Offsets beyond this are refused: deep OFFSET scans cost as much as the rows skipped. */
export const PAGE_OFFSET_MAX = 1_000_000;
/** Concurrent live-event streams (/api/events); one more gets 503. */
export const SSE_CLIENTS_MAX = 32;
/** Unsent bytes a slow live-event client may pile up before it is dropped. */
export const SSE_BUFFER_BYTES_MAX = 1_048_576;
/** A comment line keeps idle streams open through proxies. */
export const SSE_HEARTBEAT_MS = 15_000;
/** The vouchers/s sampling period, and how many samples a new stream receives as history. */
export const RATE_SAMPLE_MS = 1_000;
export const RATE_HISTORY_SAMPLES_MAX = 300;
/** Idempotency keys of wallet funding (the same alphabet as request ids). */
export const IDEMPOTENCY_KEY_LENGTH_MAX = 64;
