// Versioned schema. Each migration runs once, in order, inside a transaction; `user_version`
// records how far a database has come. Never edit a shipped migration: add the next one.
//
// Money moves only by inserting into `transfers`; a trigger applies each transfer to both
// balances, so a balance can never drift from the sum of its transfers, and transfers can be
// neither updated nor deleted. CHECKs keep every non-external balance at or above zero and the
// per-channel order settled <= latest total <= deposit.
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at_ms INTEGER NOT NULL,
    -- Time of the last connect token accepted: each new one must be later (replay protection
    -- that survives restarts, unlike a cache of nonces).
    last_token_ms INTEGER NOT NULL DEFAULT 0
  ) STRICT;

  -- Accounts have integer keys: a settlement touches one escrow per changed channel, and
  -- integer lookups keep an epoch over 100k channels well inside a second. The name is what
  -- people and the API see: 'wallet:{device}', 'escrow:{channel hex}', 'fees', 'external'.
  CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('wallet', 'escrow', 'fees', 'external')),
    balance INTEGER NOT NULL DEFAULT 0,
    CHECK (kind = 'external' OR balance >= 0),
    CHECK (kind <> 'external' OR balance <= 0)
  ) STRICT;
  INSERT INTO accounts (id, name, kind) VALUES (1, 'external', 'external'), (2, 'fees', 'fees');

  CREATE TABLE channels (
    num INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE CHECK (length(id) = 32),
    payer TEXT NOT NULL REFERENCES devices(id),
    payee TEXT NOT NULL REFERENCES devices(id),
    payer_wallet INTEGER NOT NULL REFERENCES accounts(id),
    payee_wallet INTEGER NOT NULL REFERENCES accounts(id),
    escrow_account INTEGER NOT NULL UNIQUE REFERENCES accounts(id),
    deposit INTEGER NOT NULL CHECK (deposit > 0),
    expires_at_s INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    revision INTEGER NOT NULL CHECK (revision >= 1),
    latest_seq INTEGER NOT NULL DEFAULT 0 CHECK (latest_seq >= 0),
    latest_total INTEGER NOT NULL DEFAULT 0,
    latest_signature BLOB,
    settled_total INTEGER NOT NULL DEFAULT 0,
    opened_at_ms INTEGER NOT NULL,
    closed_at_ms INTEGER,
    CHECK (payer <> payee),
    CHECK (0 <= settled_total AND settled_total <= latest_total AND latest_total <= deposit)
  ) STRICT;
  CREATE INDEX channels_unsettled ON channels(num) WHERE latest_total > settled_total;
  CREATE INDEX channels_open_by_expiry ON channels(expires_at_s) WHERE state = 'open';
  CREATE INDEX channels_by_payer ON channels(payer, state);
  CREATE INDEX channels_by_payee ON channels(payee, state);

  -- The latest certificate per channel, apart from the hot channel row.
  CREATE TABLE certificates (
    channel INTEGER PRIMARY KEY REFERENCES channels(num),
    revision INTEGER NOT NULL,
    certificate BLOB NOT NULL,
    signature BLOB NOT NULL CHECK (length(signature) = 64)
  ) STRICT;

  CREATE TABLE transfers (
    id TEXT PRIMARY KEY,
    from_account INTEGER NOT NULL REFERENCES accounts(id),
    to_account INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    kind TEXT NOT NULL CHECK (kind IN ('fund', 'deposit', 'topup', 'settle', 'fee', 'refund')),
    channel INTEGER REFERENCES channels(num),
    settlement TEXT,
    created_at_ms INTEGER NOT NULL,
    CHECK (from_account <> to_account)
  ) STRICT;
  CREATE INDEX transfers_by_settlement ON transfers(settlement, channel) WHERE settlement IS NOT NULL;
  CREATE INDEX transfers_by_channel ON transfers(channel) WHERE channel IS NOT NULL;

  CREATE TRIGGER transfers_apply AFTER INSERT ON transfers BEGIN
    UPDATE accounts SET balance = balance - NEW.amount WHERE id = NEW.from_account;
    UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.to_account;
  END;
  CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers BEGIN
    SELECT RAISE(ABORT, 'transfers are immutable');
  END;
  CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers BEGIN
    SELECT RAISE(ABORT, 'transfers are immutable');
  END;

  CREATE TABLE vouchers (
    channel INTEGER NOT NULL REFERENCES channels(num),
    seq INTEGER NOT NULL,
    total INTEGER NOT NULL,
    signature BLOB NOT NULL,
    accepted_at_ms INTEGER NOT NULL,
    PRIMARY KEY (channel, seq)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE double_signs (
    channel BLOB NOT NULL,
    seq INTEGER NOT NULL,
    accepted_total INTEGER NOT NULL,
    conflicting_total INTEGER NOT NULL,
    voucher BLOB NOT NULL,
    signature BLOB NOT NULL,
    detected_at_ms INTEGER NOT NULL,
    PRIMARY KEY (channel, seq, conflicting_total)
  ) STRICT, WITHOUT ROWID;

  -- The latest receipt per channel (each acknowledges every total below it).
  CREATE TABLE receipts (
    channel INTEGER PRIMARY KEY REFERENCES channels(num),
    seq INTEGER NOT NULL,
    total INTEGER NOT NULL,
    signature BLOB NOT NULL,
    received_at_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE requests (
    device TEXT NOT NULL,
    id TEXT NOT NULL,
    method TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (device, id)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE settlements (
    id TEXT PRIMARY KEY,
    reason TEXT NOT NULL CHECK (reason IN ('epoch', 'threshold', 'close', 'expiry', 'manual')),
    channels INTEGER NOT NULL CHECK (channels >= 1),
    amount INTEGER NOT NULL CHECK (amount > 0),
    fee INTEGER NOT NULL CHECK (fee >= 0),
    created_at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX settlements_by_time ON settlements(created_at_ms);

  CREATE TABLE settlement_lines (
    settlement TEXT NOT NULL REFERENCES settlements(id),
    account INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (settlement, account)
  ) STRICT, WITHOUT ROWID;
  `,
  // 2: a stored request answer remembers what was asked (a digest of method and params), so a
  // request id reused for another request is IDEMPOTENCY_CONFLICT rather than the old answer.
  // Answers stored before it have an empty digest and match any retry, as they did then.
  // The epoch counter lives in meta ('epoch_last'); no table is needed for it.
  `
  ALTER TABLE requests ADD COLUMN digest TEXT NOT NULL DEFAULT '';
  `,
  // 3: nothing accepted is lost [docs/DESIGN.md rule 11].
  // - A close by the payer, an operator or an expiry opens a dispute window: the channel stays
  //   'open' in `state` (so every CHECK and index on open channels still holds) with a deadline
  //   in `closing_deadline_ms`; the API shows it as 'closing'. `close_requested_by` says who
  //   asked ('payer', 'payee', 'operator', 'operator-immediate', 'expiry'), also once closed.
  // - Evidence: the channel's latest accepted voucher as its full signed bytes (the signature
  //   was already kept) and the certificate revision it was judged against; each settlement
  //   keeps the exact voucher it settled, per channel, in `settlement_vouchers`.
  // - `meta.evidence_from_settlement` is the settlements rowid from which evidence is kept:
  //   settlements committed before this migration have none and cannot be re-verified; nor can
  //   a later settlement of a voucher accepted before it (`channels.legacy_seq`).
  `
  ALTER TABLE channels ADD COLUMN closing_deadline_ms INTEGER;
  ALTER TABLE channels ADD COLUMN closing_started_ms INTEGER;
  ALTER TABLE channels ADD COLUMN close_requested_by TEXT
    CHECK (close_requested_by IS NULL OR close_requested_by IN ('payer', 'payee', 'operator', 'operator-immediate', 'expiry'));
  ALTER TABLE channels ADD COLUMN latest_voucher BLOB CHECK (latest_voucher IS NULL OR length(latest_voucher) = 82);
  ALTER TABLE channels ADD COLUMN latest_revision INTEGER;
  CREATE INDEX channels_closing_by_deadline ON channels(closing_deadline_ms) WHERE state = 'open' AND closing_deadline_ms IS NOT NULL;

  CREATE TABLE settlement_vouchers (
    settlement TEXT NOT NULL REFERENCES settlements(id),
    channel INTEGER NOT NULL REFERENCES channels(num),
    seq INTEGER NOT NULL,
    total INTEGER NOT NULL,
    voucher BLOB NOT NULL CHECK (length(voucher) = 82),
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    revision INTEGER NOT NULL,
    PRIMARY KEY (settlement, channel)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX settlement_vouchers_by_channel ON settlement_vouchers(channel);
  CREATE INDEX double_signs_by_channel ON double_signs(channel);

  INSERT INTO meta (key, value) VALUES ('evidence_from_settlement', (SELECT COALESCE(MAX(rowid), 0) + 1 FROM settlements));
  -- A channel whose latest voucher was accepted before this migration has no bytes for it: a
  -- settlement of that voucher keeps no evidence, and the audit knows why (legacy_seq).
  ALTER TABLE channels ADD COLUMN legacy_seq INTEGER;
  UPDATE channels SET legacy_seq = latest_seq WHERE latest_seq > 0;
  `,
  // 4: the TLS client certificate recorded at enrolment (SHA-256, 64 lower-case hex). With mutual
  // TLS, a device with a recorded certificate must present exactly that one.
  `
  CREATE TABLE device_certificates (
    device TEXT PRIMARY KEY REFERENCES devices(id),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*')
  ) STRICT, WITHOUT ROWID;
  `,
  // 5: payee-signed offers: each seller's current offer, its signed bytes and signature as it
  // sent them, so the service serves them again after a restart (aedes keeps retained messages
  // in memory only). One row per seller; a newer issue time replaces it (a conditional UPDATE).
  // Expired rows are deleted by the service's sweep and never served.
  `
  CREATE TABLE offers (
    seller TEXT PRIMARY KEY REFERENCES devices(id),
    offer BLOB NOT NULL CHECK (length(offer) = 86),
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    issued_at_ms INTEGER NOT NULL CHECK (issued_at_ms >= 0),
    expires_at_s INTEGER NOT NULL CHECK (expires_at_s >= 0),
    stored_at_ms INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX offers_by_expiry ON offers(expires_at_s);
  `,
  // 6: key rotation [docs/DESIGN.md rule 12]: every key a device ever had, so a key once used (by
  // this or another device) is never accepted again and a voucher signed with a retired key can
  // be named for what it is (KEY_ROTATED). `certificate_history` keeps a channel's certificate as
  // it was just before a rotation re-issued it with another key: the evidence of a voucher judged
  // under revision r is checked with the first kept certificate of revision >= r, else the
  // channel's current one (top-ups between rotations do not change the keys).
  `
  CREATE TABLE device_keys (
    device TEXT NOT NULL REFERENCES devices(id),
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    since_ms INTEGER NOT NULL,
    retired_at_ms INTEGER,
    PRIMARY KEY (device, public_key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX device_keys_by_key ON device_keys(public_key);
  INSERT INTO device_keys (device, public_key, since_ms) SELECT id, public_key, created_at_ms FROM devices;

  CREATE TABLE certificate_history (
    channel INTEGER NOT NULL REFERENCES channels(num),
    revision INTEGER NOT NULL,
    certificate BLOB NOT NULL,
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    PRIMARY KEY (channel, revision)
  ) STRICT, WITHOUT ROWID;
  `,
  // 7: money has a currency and a way out [docs/DESIGN.md rule 13].
  // - `meta.currency`: the ledger's ISO 4217 code (shared/currency.ts). A new ledger gets it when
  //   first opened (`openDatabase`, from `ledger init --currency` or the default); a ledger that
  //   already holds devices or transfers gets the default here. Triggers make it write-once: a
  //   second insert, an update or a delete of the row aborts.
  // - Transfer kinds `payout` (a wallet or the fees account to external) and `move` (wallet to
  //   wallet, an operator's recovery). SQLite cannot alter a CHECK, so `transfers` is rebuilt
  //   with the wider one, its rows copied as they are, and its indexes and triggers re-created.
  `
  INSERT INTO meta (key, value) SELECT 'currency', 'EUR'
    WHERE EXISTS (SELECT 1 FROM devices) OR EXISTS (SELECT 1 FROM transfers);
  CREATE TRIGGER meta_currency_once BEFORE INSERT ON meta
    WHEN NEW.key = 'currency' AND EXISTS (SELECT 1 FROM meta WHERE key = 'currency') BEGIN
    SELECT RAISE(ABORT, 'the ledger currency cannot change');
  END;
  CREATE TRIGGER meta_currency_no_update BEFORE UPDATE ON meta
    WHEN OLD.key = 'currency' OR NEW.key = 'currency' BEGIN
    SELECT RAISE(ABORT, 'the ledger currency cannot change');
  END;
  CREATE TRIGGER meta_currency_no_delete BEFORE DELETE ON meta WHEN OLD.key = 'currency' BEGIN
    SELECT RAISE(ABORT, 'the ledger currency cannot change');
  END;

  CREATE TABLE transfers_v5 (
    id TEXT PRIMARY KEY,
    from_account INTEGER NOT NULL REFERENCES accounts(id),
    to_account INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    kind TEXT NOT NULL CHECK (kind IN ('fund', 'deposit', 'topup', 'settle', 'fee', 'refund', 'payout', 'move')),
    channel INTEGER REFERENCES channels(num),
    settlement TEXT,
    created_at_ms INTEGER NOT NULL,
    CHECK (from_account <> to_account)
  ) STRICT;
  INSERT INTO transfers_v5 (rowid, id, from_account, to_account, amount, kind, channel, settlement, created_at_ms)
    SELECT rowid, id, from_account, to_account, amount, kind, channel, settlement, created_at_ms FROM transfers;
  DROP TABLE transfers;
  ALTER TABLE transfers_v5 RENAME TO transfers;
  CREATE INDEX transfers_by_settlement ON transfers(settlement, channel) WHERE settlement IS NOT NULL;
  CREATE INDEX transfers_by_channel ON transfers(channel) WHERE channel IS NOT NULL;
  -- The export reads transfers by time.
  CREATE INDEX transfers_by_time ON transfers(created_at_ms);
  -- Money in and out of the ledger (the totals view, the audit) without a scan of every transfer.
  CREATE INDEX transfers_in_and_out ON transfers(kind, amount) WHERE kind IN ('fund', 'payout');

  CREATE TRIGGER transfers_apply AFTER INSERT ON transfers BEGIN
    UPDATE accounts SET balance = balance - NEW.amount WHERE id = NEW.from_account;
    UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.to_account;
  END;
  CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers BEGIN
    SELECT RAISE(ABORT, 'transfers are immutable');
  END;
  CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers BEGIN
    SELECT RAISE(ABORT, 'transfers are immutable');
  END;
  `,
  // 8: server-side spending limits [docs/DESIGN.md rule 12]. `device_limits` holds the limits an
  // operator set for one device (NULL: the broker's default applies); `allow_payees` is a JSON
  // array of device ids, NULL for any payee; `version` goes up at every write (rows are never
  // deleted), so the voucher path re-reads and re-parses a long allow-list only when it changed.
  // `device_spend` holds what each payer's vouchers raised its channel totals by, per minute
  // (`minute` = ms since the epoch / 60,000), written in the same group commit as the voucher,
  // so the rolling hour and day survive a restart.
  `
  CREATE TABLE device_limits (
    device TEXT PRIMARY KEY REFERENCES devices(id),
    max_per_payment INTEGER CHECK (max_per_payment IS NULL OR max_per_payment > 0),
    max_per_hour INTEGER CHECK (max_per_hour IS NULL OR max_per_hour > 0),
    max_per_day INTEGER CHECK (max_per_day IS NULL OR max_per_day > 0),
    allow_payees TEXT CHECK (allow_payees IS NULL OR json_valid(allow_payees)),
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at_ms INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE device_spend (
    device TEXT NOT NULL REFERENCES devices(id),
    minute INTEGER NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (device, minute)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX device_spend_by_minute ON device_spend(minute);
  `,
  // 9: the voucher log follows channels [docs/DESIGN.md rule 11]: each channel keeps its newest
  // 3 vouchers (VOUCHERS_KEPT_PER_CHANNEL when this shipped; broker/store/sqlite/voucher-log.ts
  // drops the oldest as each is logged). This compacts a log kept before it; no evidence is in
  // the log alone (channels.latest_*, settlement_vouchers, double_signs, certificate_history).
  `
  DELETE FROM vouchers WHERE (channel, seq) IN (
    SELECT channel, seq FROM (SELECT channel, seq, row_number() OVER (PARTITION BY channel ORDER BY seq DESC) AS newer FROM vouchers)
    WHERE newer > 3);
  `,
  // 10: hash-chain ticks (protocol v3). `chains` holds each channel's current chain: the
  // payer-signed checkpoint (its own 109-byte encoding, MQPAY-HC), the certificate revision it
  // was judged against, and the highest link a tick revealed (the root at index 0). The
  // checkpoint is also a row of `vouchers` (its seq and total, the chain's start), so seqs stay
  // one space; the channel's latest_total is checkpoint total + highest index x price while
  // latest_seq is the chain's seq. `settlement_ticks` keeps what each settlement of a chain paid
  // for: the checkpoint, its signature and the highest preimage, so `ledger check
  // --verify-signatures` re-verifies it (one signature, index hashes to the root).
  `
  CREATE TABLE chains (
    channel INTEGER PRIMARY KEY REFERENCES channels(num),
    seq INTEGER NOT NULL CHECK (seq >= 1),
    checkpoint BLOB NOT NULL CHECK (length(checkpoint) = 109),
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    revision INTEGER NOT NULL,
    chain_length INTEGER NOT NULL CHECK (chain_length >= 1),
    price INTEGER NOT NULL CHECK (price >= 1),
    start_total INTEGER NOT NULL CHECK (start_total >= 0),
    highest_index INTEGER NOT NULL CHECK (0 <= highest_index AND highest_index <= chain_length),
    highest_link BLOB NOT NULL CHECK (length(highest_link) = 32)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE settlement_ticks (
    settlement TEXT NOT NULL REFERENCES settlements(id),
    channel INTEGER NOT NULL REFERENCES channels(num),
    seq INTEGER NOT NULL,
    total INTEGER NOT NULL,
    checkpoint BLOB NOT NULL CHECK (length(checkpoint) = 109),
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    tick_index INTEGER NOT NULL CHECK (tick_index >= 0),
    preimage BLOB NOT NULL CHECK (length(preimage) = 32),
    revision INTEGER NOT NULL,
    PRIMARY KEY (settlement, channel)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX settlement_ticks_by_channel ON settlement_ticks(channel);
  `,
];
