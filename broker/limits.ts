// Every limit, timeout and default that only the broker has, named with its unit last. The
// protocol's limits (payload bytes, topic depth, ids, per-device rates) are in shared/limits.ts,
// which the agent reads too; the agent's own are in agent/limits.ts. Where an operator may need to
// change one, it is the default of a named option in config.ts.
import { availableParallelism } from 'node:os';
import { IN_FLIGHT_REQUESTS_PER_DEVICE_MAX } from '../shared/limits.js';

// Defaults of the options in config.ts (each option's accepted range is beside it there)

/** Plain-text MQTT (IANA's port), on loopback unless --insecure-plaintext. */
export const MQTT_PORT_DEFAULT = 1883;
/** MQTT over TLS (IANA's port), served when a certificate is given. */
export const MQTTS_PORT_DEFAULT = 8883;
/** A burst of file events (cert and key rewritten one after the other) reloads TLS once, this long after the last. */
export const TLS_RELOAD_SETTLE_MS = 200;
/** Voucher retention runs this often (with --voucher-retention-days). */
export const VOUCHER_PRUNE_INTERVAL_MS = 3_600_000;
/** A prune that found a unit of work open tries again this much later. */
export const VOUCHER_PRUNE_RETRY_MS = 1_000;
/**
 * Accepted vouchers logged per channel, its latest included; older ones are dropped as each new
 * one is logged (broker/store/sqlite/voucher-log.ts). Room for the re-sends a payer can make (it
 * re-sends only its latest pending voucher per channel, and MQTT may deliver a recent one twice);
 * each one more costs about 100 bytes per channel, 7% of what a channel costs (bench/epoch.ts).
 */
export const VOUCHERS_KEPT_PER_CHANNEL = 3;
/** A settlement epoch closes this often. */
export const EPOCH_SECONDS_DEFAULT = 60;
/**
 * How long a write waits for the database's write lock when another process holds it (an admin
 * command, a backup, a stuck tool). It waits asynchronously, so the broker keeps serving reads,
 * pings and refusals meanwhile; past this the write is refused SERVICE_UNAVAILABLE (retryable).
 */
export const STORE_LOCK_WAIT_MS_DEFAULT = 2_000;
/**
 * The broker checkpoints its WAL (copies it into the database file) this often, from a worker
 * thread, never on the event loop (broker/store/sqlite/wal-checkpointer.ts). After a complete
 * one the worker restarts the WAL with a write of its own, holding the write lock while the new
 * header is fsynced: the broker's writes wait for it with timers, at most once per interval.
 */
export const WAL_CHECKPOINT_INTERVAL_MS = 5_000;
/**
 * How long the checkpoint worker tries for the write lock to restart the WAL after a complete
 * checkpoint, while a read of its own keeps any other writer from restarting it (on the broker's
 * event loop). Its own thread waits; past this it gives up until the next checkpoint.
 */
export const WAL_RESTART_LOCK_WAIT_MS = 1_000;
/**
 * SQLite's page cache on the broker's ledger connection. Ingesting vouchers over 100k channels
 * fits in better-sqlite3's default 16 MB (0.00 page reads per voucher in steady state; 2.9 with a
 * 200 KiB cache), so this holds several times that working set, and it cuts a 100k-channel
 * epoch's page reads (on the event loop) from 86k to 21k. Pages are allocated as used. Every WAL restart by
 * the checkpoint worker empties it (SQLite drops a connection's cache when another commits), so
 * it refills once per WAL_CHECKPOINT_INTERVAL_MS at most.
 */
export const BROKER_PAGE_CACHE_KIB = 65_536;
/** A WAL that has been checkpointed and starts again is cut back to this size (journal_size_limit). */
export const WAL_BYTES_KEPT_MAX = 16_777_216;
/** The first and the longest pause between two tries for the write lock; each try doubles it. */
export const STORE_LOCK_RETRY_MS_MIN = 2;
export const STORE_LOCK_RETRY_MS_MAX = 100;
/**
 * Bytes the broker holds unsent for one connection (a client that stopped reading); past this
 * the client is dropped, so a frozen reader never holds up anyone else. About 3,000 forwarded
 * vouchers: far more than a reading client ever has in flight.
 */
export const OUTBOUND_BYTES_PER_CLIENT_DEFAULT = 1_048_576;
/**
 * Bytes one connection's writes coalesce within an event-loop turn before they are flushed
 * early: a few hundred small packets, one `writev`. Below the least outbound bound (64 KiB), so
 * a busy turn of a reading client is flushed before the slow-reader check could count it.
 */
export const COALESCED_BYTES_MAX = 16_384;
/** Most vouchers and receipts committed in one SQLite transaction (group commit). */
export const VOUCHER_BATCH_ENTRIES_DEFAULT = 1_024;
/** Connections served at once; one more is refused at CONNECT. */
export const CLIENTS_DEFAULT = 10_000;
/** A connection that has not sent CONNECT within this is closed. */
export const CONNECT_TIMEOUT_MS_DEFAULT = 10_000;
/** Longest keep-alive a client may ask for (aedes keepaliveLimit). */
export const KEEPALIVE_SECONDS_MAX_DEFAULT = 300;
/** A client whose socket stays unwritable this long is dropped (aedes drainTimeout). */
export const DRAIN_TIMEOUT_MS_DEFAULT = 10_000;
/** Packets aedes queues for a client that is not connected yet (aedes queueLimit). */
export const QUEUE_PACKETS_DEFAULT = 64;
/** Messages aedes delivers in parallel (its mqemitter concurrency). */
export const CONCURRENCY_DEFAULT = 1_000;
/** Outbox messages of one device the service handles at once; more get TOO_MANY_IN_FLIGHT. Room
 *  for the protocol's in-flight requests and a stream of vouchers beside them. */
export const IN_FLIGHT_MESSAGES_PER_DEVICE_DEFAULT = IN_FLIGHT_REQUESTS_PER_DEVICE_MAX * 64;

// MQTT host (aedes options that config.ts does not expose)

/** Longest MQTT clientId: a device's is its id (32 characters at most); operators choose theirs. */
export const CLIENT_ID_LENGTH_MAX = 64;
/** How often aedes publishes its $SYS heartbeat. */
export const HEARTBEAT_INTERVAL_MS = 60_000;

// Settlement service

/** Channels the voucher hot path keeps in memory (about 300 bytes each). */
export const CHANNEL_CACHE_ENTRIES_DEFAULT = 200_000;
/** Devices whose limits rows the broker's connection keeps in memory (broker/store/sqlite/device-limits-cache.ts); past this it starts afresh. */
export const LIMITS_CACHE_ENTRIES_MAX = 100_000;
/** Most signatures sent to the verification worker in one message. */
export const VERIFY_BATCH_MAX = 512;
/**
 * Verifications per event-loop turn done on the main thread while no job waits for a worker:
 * at low load a hand-off (post, wake, answer) costs more than the verify itself; under load
 * jobs queue and all go to the workers.
 */
export const VERIFY_INLINE_PER_TURN_MAX = 4;
/** Verify worker threads by default: every core but the event loop's, at least one. */
export const VERIFY_THREADS_DEFAULT = Math.max(1, availableParallelism() - 1);
/** Most verify worker threads an operator may configure. */
export const VERIFY_THREADS_MAX = 64;
/** Expired channels closed per tick; the rest wait for the next tick. */
export const EXPIRED_CHANNELS_PER_TICK_MAX = 1_000;
/** Channels whose dispute window ended, settled per tick (the rest at the next) [docs/DESIGN.md rule 11]. */
export const CLOSING_CHANNELS_PER_TICK_MAX = 1_000;
/** Default dispute window between a payer's, operator's or expiry's close and its settlement. */
export const CLOSE_WINDOW_SECONDS_DEFAULT = 600;
/** Longest dispute window an operator may configure (one week). */
export const CLOSE_WINDOW_SECONDS_MAX = 604_800;
/** Double-sign evidence rows kept per channel; the first ones already prove it. */
export const DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX = 8;
/** Settled channels whose notices are built per event-loop turn, so the broker stays responsive. */
export const NOTICE_CHANNELS_PER_TURN_MAX = 1_000;
/** Most telemetry listeners at once (the metrics, the SSE feed, tests); a leak shows as an error. */
export const TELEMETRY_LISTENERS_MAX = 64;

// Ledger

/** SQLite INTEGER is i64: no balance, not even the external account's, may pass it. */
export const LEDGER_BALANCE_MAX = (1n << 63n) - 1n;
/** Fees are parts per million of each settled amount, rounded down (the payee keeps the rest). */
export const FEE_PPM_MAX = 100_000;

// Operator HTTP surface

/** Largest request body accepted (admin actions carry a few hundred bytes). */
export const HTTP_BODY_BYTES_MAX = 16_384;
/** Page sizes of list routes (and of the CLI views, which page the same way). */
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
/** How long a browser waits before it reopens a live-event stream that dropped (the SSE `retry`). */
export const SSE_RETRY_MS = 2_000;
/** The vouchers/s sampling period, and how many samples a new stream receives as history. */
export const RATE_SAMPLE_MS = 1_000;
export const RATE_HISTORY_SAMPLES_MAX = 300;
/**
 * The alarms panel: at most one `alarms` live event per period (whatever the attack rate), the
 * incidents one event carries, and the recent incidents kept for GET /api/alarms.
 */
export const ALARMS_PUSH_MS = 1_000;
export const ALARMS_PER_PUSH_MAX = 50;
export const ALARMS_RECENT_MAX = 200;
/** Operator events (connects, admin actions) kept in memory for the device page's history. */
export const OPS_HISTORY_EVENTS_MAX = 10_000;
/** The device page: its newest channels read, and the items per list (vouchers, settlements, events). */
export const DEVICE_ACTIVITY_CHANNELS_MAX = 50;
export const DEVICE_ACTIVITY_ITEMS_DEFAULT = 20;
export const DEVICE_ACTIVITY_ITEMS_MAX = 100;
/** Idempotency keys of wallet funding (the same alphabet as request ids). */
export const IDEMPOTENCY_KEY_LENGTH_MAX = 64;

/**
 * Rows one export (`mqpay export`, `GET /api/export`) answers at most; a range holding more is
 * MESSAGE_TOO_LARGE and asks for a narrower one, so one request never builds an unbounded answer.
 */
export const EXPORT_ROWS_MAX = 100_000;

// Operator commands

/** `mqpay settlements --watch --data`: how often SQLite is polled, and most rows read per poll. */
export const WATCH_POLL_MS = 1_000;
export const WATCH_BATCH_MAX = 500;
/** `mqpay settlements --watch --url`: the wait before the live-event stream is reopened. */
export const WATCH_RECONNECT_MS = 2_000;

// Offers

/** How often the service deletes expired offers and clears their retained messages. */
export const OFFER_SWEEP_INTERVAL_MS = 30_000;
/** Offers read (on start) or deleted (per sweep transaction) at a time. */
export const OFFER_PAGE_MAX = 256;
// Key rotation [docs/DESIGN.md rule 12]

/** Most open channels one rotation re-issues certificates for, in its one unit of work. */
export const REKEY_CHANNELS_MAX = 10_000;
/** Retired keys tried on a failed signature, to name it KEY_ROTATED rather than a forgery. */
export const RETIRED_KEYS_CHECKED_MAX = 2;
// Backups (broker/backup/)

/** Scheduled backups kept in --backup-dir when --backup-keep is not given (older ones are deleted). */
export const BACKUP_KEEP_DEFAULT = 24;
export const BACKUP_KEEP_MAX = 10_000;
/** Shortest and longest --backup-every. */
export const BACKUP_EVERY_SECONDS_MIN = 1;
export const BACKUP_EVERY_SECONDS_MAX = 7 * 86_400;
/** Pages the broker's backup copies per event-loop turn (4 KiB pages: 1 MiB per step). */
export const BACKUP_PAGES_PER_STEP = 256;
/** Pages a `mqpay ledger backup` process copies per step: it is not serving anyone. */
export const BACKUP_PAGES_PER_STEP_OFFLINE = 1_000_000;
/** The latest backup is overdue (alarm: log, ops event, metric) past this many backup intervals. */
export const BACKUP_OVERDUE_INTERVALS = 2;
/** The backups' age is checked at least this far apart (and at most half an interval apart). */
export const BACKUP_WATCH_MS_MIN = 1_000;
/** Largest operator journal file `mqpay ledger journal` reads, in bytes. */
export const JOURNAL_BYTES_MAX = 64 * 1_048_576;

// Server-side spending limits [docs/DESIGN.md rule 12]

/** Spend is counted in buckets of this many milliseconds (one minute), persisted with each voucher. */
export const SPEND_BUCKET_MS = 60_000;
/** The rolling windows, in buckets: the last hour and the last day (the current minute included). */
export const SPEND_HOUR_BUCKETS = 60;
export const SPEND_DAY_BUCKETS = 1_440;
/** Devices whose spend windows are kept in memory (least recently used out; one with uncommitted spend stays). */
export const SPEND_WINDOWS_MAX = 100_000;
/** Longest server-side payee allow-list of one device. */
export const ALLOW_PAYEES_MAX = 1_024;
/** Spend buckets older than a day and this many buckets are deleted, by a settlement tick at most this often (in buckets). */
export const SPEND_PRUNE_SLACK_BUCKETS = 60;

/** Devices whose use of a deprecated JSON voucher/receipt form is logged (once each per run); beyond, only counted. */
export const DEPRECATED_FORM_LOGGED_DEVICES_MAX = 1_024;

// Cluster mode: local RabbitMQ nodes (issue 15)

/** A RabbitMQ 3.10 node takes 11-16 s to boot on two shared cores; past this it failed. */
export const RABBIT_START_TIMEOUT_MS = 90_000;
/** A node asked to stop (SIGTERM: the same graceful init:stop as `rabbitmqctl stop`) is killed past this. */
export const RABBIT_STOP_TIMEOUT_MS = 30_000;
/** A `rabbitmqctl` call (one Erlang VM boot plus the command) that takes longer has failed. */
export const RABBITMQCTL_TIMEOUT_MS = 60_000;
/** How often a starting server's port or log is probed (RabbitMQ nodes, `cluster up`'s children). */
export const DAEMON_PROBE_INTERVAL_MS = 250;
/** A child process asked to stop (SIGTERM) is killed (SIGKILL) past this. */
export const CHILD_STOP_TIMEOUT_MS = 10_000;

// The cluster mode's PostgreSQL (broker/cluster/postgres-server.ts, broker/store/postgres/)

/** How long `pg_ctl start` waits for a local server to accept connections. */
export const POSTGRES_START_WAIT_SECONDS = 60;
/** How long `pg_ctl stop` waits for a local server to shut down (fast mode). */
export const POSTGRES_STOP_WAIT_SECONDS = 60;
/** Connections in one process's PostgreSQL pool (a worker, the auth service, a tool). */
export const POSTGRES_POOL_SIZE_DEFAULT = 8;
/** A new PostgreSQL connection that takes longer than this fails (the query is retried by its caller). */
export const POSTGRES_CONNECT_TIMEOUT_MS = 10_000;
/** An idle pooled connection is closed after this long. */
export const POSTGRES_IDLE_TIMEOUT_MS = 30_000;
/**
 * Longest wait of one statement for a lock (lock_timeout): an epoch holds voucher writers off
 * while it settles (well under a second per 10k channels), so this is far above any normal wait.
 */
export const POSTGRES_LOCK_WAIT_MS = 10_000;
/** A transaction left idle this long (its process stalled or lost) is ended by the server, freeing its locks. */
export const POSTGRES_IDLE_IN_TRANSACTION_MS_MAX = 60_000;
/**
 * Tries of one unit of work that PostgreSQL aborted for a serialization failure (40001) or a
 * deadlock (40P01); then the failure is SERVICE_UNAVAILABLE, which devices retry.
 */
export const POSTGRES_TRANSACTION_ATTEMPTS_MAX = 8;
/** Pause before the second try of an aborted transaction; each further try doubles it (jittered). */
export const POSTGRES_RETRY_PAUSE_MS_MIN = 2;
export const POSTGRES_RETRY_PAUSE_MS_MAX = 200;

// Cluster mode: the HTTP auth backend RabbitMQ asks (broker/cluster/auth/)

/** Largest request body the auth service reads (RabbitMQ's are a few hundred bytes). */
export const AUTH_BODY_BYTES_MAX = 4_096;
/** A request whose body has not arrived within this is answered `deny` and closed. */
export const AUTH_REQUEST_TIMEOUT_MS = 5_000;

// The cluster mode's workers (broker/cluster/worker/)

/**
 * Outbox partitions (quorum queues) a worker declares and consumes by default. More partitions
 * spread devices over more workers; every worker of a cluster must use the same number, since
 * the consistent-hash ring is the set of bound queues.
 */
export const OUTBOX_PARTITIONS_DEFAULT = 8;
/**
 * Unacknowledged outbox messages per partition a worker holds: enough to fill a group commit of
 * many devices; each is acknowledged after its commit, so this bounds what a killed worker's
 * successor receives again.
 */
export const OUTBOX_PREFETCH_DEFAULT = 256;

// Cluster mode: `mqpay cluster up` (broker/cluster/cluster-up.ts)

/** A child (auth service, worker) that has not said it is ready within this has failed. */
export const CLUSTER_CHILD_START_TIMEOUT_MS = 60_000;
/** Workers `mqpay cluster up` starts at most. */
export const CLUSTER_WORKERS_MAX = 16;
/** How often a worker without the settlement lead tries to take it (a PostgreSQL advisory lock). */
export const LEADER_RETRY_MS = 1_000;
/**
 * How often a worker re-balances its outbox partition leases over PostgreSQL: it counts the live
 * workers, releases what exceeds its share ceil(partitions / live workers) and takes free ones up
 * to it (broker/cluster/worker/partition-balancer.ts). A new worker gets its share within about
 * two intervals; a killed worker's partitions are taken within one.
 */
export const PARTITION_REBALANCE_MS = 1_000;
/** Worker slots (advisory lock keys) a cluster's workers over one PostgreSQL database can hold at most. */
export const WORKER_SLOTS_MAX = 256;
/** A worker that lost its AMQP connection tries the nodes again after this, doubling per failed round... */
export const AMQP_RECONNECT_MS_MIN = 250;
/** ...up to this. */
export const AMQP_RECONNECT_MS_MAX = 5_000;
