// Every limit, timeout and default that only the agent has, named with its unit last. The
// protocol's limits (payload bytes, ids, channel lifetimes, per-device rates) are in
// shared/limits.ts, which both sides read; the broker's own are in broker/limits.ts.

// Local state

/** Most writes in one group-commit transaction; a longer queue is split over several commits. */
export const WRITE_BATCH_ENTRIES_MAX = 512;
/** SQLite page cache of the agent's connection. The hot rows (open channels, pending vouchers)
 *  are a few pages; SQLite's default 2 MB is memory a small device can use better. */
export const STATE_CACHE_KIB = 512;
/** Answered vouchers, delivered receipts and spending buckets are kept a day and an hour: longer
 *  than the longest spending window (a day), so the policy always sees a full window. */
export const STATE_RETENTION_MS = 25 * 3_600_000;
/** How often the old rows above are deleted. */
export const PRUNE_INTERVAL_MS = 3_600_000;
/** Pending vouchers listed in a status; the count is always complete. */
export const STATUS_PENDING_LISTED_MAX = 100;

// Link to the service

/** How long an RPC request waits for its reply (the link's default, and createAgent's). */
export const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
/** How long one MQTT connection attempt may take. */
export const CONNECT_TIMEOUT_MS_DEFAULT = 5_000;
/** MQTT keep-alive the agent asks for; the broker bounds it (keepaliveSecondsMax). */
export const KEEPALIVE_SECONDS_DEFAULT = 30;
/** First reconnect delay; later ones double up to the maximum, with jitter. */
export const RECONNECT_INITIAL_MS_DEFAULT = 500;
export const RECONNECT_MAX_MS_DEFAULT = 10_000;
/**
 * A device the broker refuses as disabled (CONNACK 2, DEVICE_DISABLED) tries again only this
 * often: no reconnect storm while it is disabled, and back within this once an operator enables it.
 */
export const DISABLED_RECONNECT_MS_DEFAULT = 600_000;
/** How long createAgent waits for the first connection; after it the agent starts offline. */
export const CONNECT_WAIT_MS_DEFAULT = 5_000;
/** How long reading a seller's retained offer may take. */
export const OFFER_READ_TIMEOUT_MS_DEFAULT = 3_000;
/** How long a signed offer runs unless told: re-signed (fresh issue time and expiry) on every reconnect. */
export const OFFER_LIFETIME_S_DEFAULT = 86_400;

// Paying

/** How long a payment waits for "accepted" before it reports a timeout (the voucher stays pending). */
export const PAYMENT_TIMEOUT_MS_DEFAULT = 10_000;
/** The latest unanswered voucher is re-sent this often until the service answers it. */
export const RESEND_INTERVAL_MS_DEFAULT = 2_000;
/** Seqs one durable commit reserves ahead on a channel: the vouchers inside the block are signed
 *  and published without an fsync each; a restart skips the rest of the block
 *  [docs/DESIGN.md rule 5]. Seqs are 2^53 wide, so skipping a block costs nothing real. */
export const SEQ_RESERVATION_BLOCK_SEQS = 1_024;
/** Channels tried for one payment before giving up (spent, expiring or closed meanwhile). */
export const SIGN_ATTEMPTS_MAX = 3;
/** Payment streams tick this often by default, and never faster than the minimum. */
export const STREAM_INTERVAL_MS_DEFAULT = 1_000;
export const STREAM_INTERVAL_MS_MIN = 10;
/** Most elapsed time one tick may count, in intervals (late timers catch up; clock jumps do not). */
export const STREAM_STEP_INTERVALS_MAX = 2;
/** `mqpay agent pay --timeout-ms`: its default and its ceiling. */
export const PAY_TIMEOUT_MS_DEFAULT = 15_000;
export const PAY_TIMEOUT_MS_MAX = 600_000;

// Configuration (agent.json)

/** Longest allow-list accepted: a device with more payees than this wants an operator rule. */
export const ALLOW_LIST_ENTRIES_MAX = 1_024;
/** A channel opened without an explicit duration lasts a week, and is renewed an hour before it ends. */
export const CHANNEL_DURATION_S_DEFAULT = 7 * 24 * 3600;
export const CHANNEL_RENEW_BEFORE_S_DEFAULT = 3600;
/** How long a signed voucher stays valid, by default and at least. */
export const VOUCHER_LIFETIME_S_DEFAULT = 24 * 3600;
export const VOUCHER_LIFETIME_S_MIN = 60;

/** A CA bundle pinned in agent.json (a few certificates of ~2 kB each). */
export const AGENT_TLS_PEM_CHARS_MAX = 65_536;

/**
 * After the service's ledger was restored, a channel it cannot re-create yet (the payer's wallet
 * lacks the fundings made after the backup) is offered again this often while connected.
 */
export const HEAL_RETRY_MS = 2_000;

/**
 * Links of a hash chain a streaming payer commits to with one checkpoint (protocol v3 ticks),
 * bounded by the channel's unspent deposit: computing it costs this many hashes once, and the
 * payer keeps a few anchors (shared/hash-chain.ts). A used-up chain is followed by a new one.
 */
export const TICK_CHAIN_LENGTH_DEFAULT = 10_000;
