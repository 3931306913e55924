// The protocol's limits, named with their unit last (TigerBeetle style). The broker and the agent
// (and the simulator) read the same numbers, so both sides agree on what is too big without
// negotiating it; the broker's options default to these where they apply. Limits only one side
// has are in broker/limits.ts and agent/limits.ts [docs/DESIGN.md rule 9].

/** 1 currency unit = 10^6 micro-units. Amounts are bigint micro-units everywhere. */
export const MICRO_PER_UNIT = 1_000_000n;
/** Amounts travel as u64 in signed bytes, so that is the ceiling of any balance or total. */
export const AMOUNT_MICRO_MAX = (1n << 64n) - 1n;
/** Decimal places an amount string may carry: one micro-unit is the smallest amount. */
export const AMOUNT_DECIMALS = 6;
/** Longest decimal amount string accepted: 20 integer digits, a point, 6 decimals. */
export const AMOUNT_STRING_LENGTH_MAX = 27;

/** A device id is one MQTT topic level; short keeps topics and certificates small. */
export const DEVICE_ID_LENGTH_MAX = 32;
/** A broker id names the service a connect token is valid for. */
export const BROKER_ID_LENGTH_MAX = 32;
export const CHANNEL_ID_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const MEMO_DIGEST_BYTES = 16;
/** Random salt hashed before the memo (v2), kept by payer and payee only, so nobody else can confirm a guessed memo. */
export const MEMO_SALT_BYTES = 16;
export const CONNECT_NONCE_BYTES = 16;
/** Client-chosen request ids; retries reuse them, so they are stored and must stay small. */
export const REQUEST_ID_LENGTH_MAX = 64;
/** Human note attached to a payment, hashed into the voucher's memo digest. */
export const MEMO_LENGTH_MAX = 256;
/** What an offer prices ("kWh", "Wh", "min"): 1-16 of [a-zA-Z0-9_.-], a fixed-width field of the signed offer. */
export const OFFER_UNIT_LENGTH_MAX = 16;
/** Most units one payment against an offer may buy (price x quantity must also fit u64). */
export const OFFER_QUANTITY_MAX = 1_000_000_000_000n;

/** Largest MQTT payload the service reads; anything larger is refused before parsing. */
export const PAYLOAD_BYTES_MAX = 4_096;
/** An error's message and detail on the wire, each at most this many characters. */
export const ERROR_TEXT_MAX = 512;
/** Largest MQTT packet the broker accepts at all (payload plus topic and headers). */
export const PACKET_BYTES_MAX = 8_192;
/** `mqpay/v1/d/{device}/out/{kind}` has 6 levels; nothing legitimate is deeper. */
export const TOPIC_LEVELS_MAX = 6;
export const TOPIC_BYTES_MAX = 128;

/** A connect token is valid this long either side of the service's clock. */
export const CONNECT_TOKEN_AGE_MS_MAX = 120_000;
/** A key rotation request is valid this long either side of the service's clock. */
export const KEY_ROTATION_AGE_MS_MAX = 120_000;
/** Public keys kept decoded for fast verification (bounded, oldest evicted). */
export const PUBLIC_KEY_CACHE_ENTRIES_MAX = 10_000;

export const CHANNELS_PER_DEVICE_MAX = 256;
export const IN_FLIGHT_REQUESTS_PER_DEVICE_MAX = 32;
/** Token bucket per device over vouchers, receipts and requests together. */
export const MESSAGES_PER_SECOND_PER_DEVICE_MAX = 2_000;
export const MESSAGES_BURST_PER_DEVICE_MAX = 4_000;
/** Answers to request ids kept for idempotent retries, per device (oldest evicted). */
export const REQUEST_REPLAY_CACHE_ENTRIES_PER_DEVICE_MAX = 256;

/** Channel lifetime bounds, in seconds. */
export const CHANNEL_DURATION_S_MIN = 60;
export const CHANNEL_DURATION_S_MAX = 366 * 24 * 3600;
/** A voucher sequence number is u64 on the wire but stored as SQLite INTEGER (i64). */
export const VOUCHER_SEQ_MAX = (1n << 63n) - 1n;

/** An offer may be issued at most this far ahead of the service's clock (a seller's clock skew). */
export const OFFER_ISSUED_AHEAD_MS_MAX = 120_000;
/** An offer may run at most this long past the service's clock; sellers re-sign (the agent does on every reconnect). */
export const OFFER_LIFETIME_S_MAX = 31 * 86_400;

/** Longest hash chain a checkpoint may commit to (u32 on the wire); at 10 ticks/s, 29 hours of ticks. */
export const HASH_CHAIN_LENGTH_MAX = 1_048_576;
/** Most hashes one tick check may cost: a tick may skip at most this many indices past the last accepted one. */
export const TICK_SKIP_MAX = 1_024;
/** A chain link (seed, preimage, root) is one SHA-256 output. */
export const HASH_CHAIN_LINK_BYTES = 32;
