// Limits that only the broker has; the protocol's limits are in shared/limits.ts. Each is the
// default of a named option in config.ts where an operator may need to change it.

/** Channels the voucher hot path keeps in memory (about 300 bytes each). */
export const CHANNEL_CACHE_ENTRIES_DEFAULT = 200_000;
