// Limits that only the agent has; the protocol's limits are in shared/limits.ts.

/** Most writes in one group-commit transaction; a longer queue is split over several commits. */
export const WRITE_BATCH_ENTRIES_MAX = 512;
