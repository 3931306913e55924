// The agent's local schema, versioned like the broker's: each migration runs once, in order,
// inside a transaction, and `user_version` records how far a file has come. Never edit a
// shipped migration: add the next one.
//
// The rule this schema exists for [docs/DESIGN.md rule 5]: a voucher row (channel, seq) is written
// and committed before the voucher is published, and is never rewritten. The primary key makes a
// second total for a used seq impossible; the triggers make the signed bytes immutable and the
// channel's signed (seq, total) monotonic, even against a bug in the code above them.
export const AGENT_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  -- Channels this agent pays into. 'opening' rows exist before the open request is sent, so a
  -- crash mid-open retries with the same channel id instead of escrowing a second deposit.
  CREATE TABLE payer_channels (
    id BLOB PRIMARY KEY CHECK (length(id) = 32),
    payee TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('opening', 'open', 'failed', 'closed')),
    open_request TEXT NOT NULL,
    deposit INTEGER NOT NULL CHECK (deposit > 0),
    duration_s INTEGER NOT NULL,
    expires_at_s INTEGER NOT NULL DEFAULT 0,
    revision INTEGER NOT NULL DEFAULT 0,
    certificate BLOB,
    certificate_signature BLOB,
    payee_key BLOB,
    signed_seq INTEGER NOT NULL DEFAULT 0,
    signed_total INTEGER NOT NULL DEFAULT 0,
    accepted_seq INTEGER NOT NULL DEFAULT 0,
    accepted_total INTEGER NOT NULL DEFAULT 0,
    receipt_seq INTEGER NOT NULL DEFAULT 0,
    receipt_total INTEGER NOT NULL DEFAULT 0,
    receipt_signature BLOB,
    settled_total INTEGER NOT NULL DEFAULT 0,
    topup_request TEXT,
    topup_amount INTEGER,
    error TEXT,
    created_at_ms INTEGER NOT NULL,
    CHECK (0 <= accepted_seq AND accepted_seq <= signed_seq),
    CHECK (0 <= accepted_total AND accepted_total <= signed_total AND signed_total <= deposit)
  ) STRICT;
  CREATE INDEX payer_channels_by_payee ON payer_channels(payee, state);

  CREATE TRIGGER payer_channels_signed_monotonic BEFORE UPDATE OF signed_seq, signed_total ON payer_channels
  WHEN NEW.signed_seq < OLD.signed_seq OR NEW.signed_total < OLD.signed_total
    OR (NEW.signed_seq = OLD.signed_seq AND NEW.signed_total <> OLD.signed_total) BEGIN
    SELECT RAISE(ABORT, 'signed seq and total only go up');
  END;

  -- Every voucher this agent signed. 'pending' until the service answers "accepted" (or a
  -- final rejection); the latest pending voucher of a channel is re-sent until then.
  CREATE TABLE signed_vouchers (
    channel BLOB NOT NULL REFERENCES payer_channels(id),
    seq INTEGER NOT NULL CHECK (seq >= 1),
    total INTEGER NOT NULL CHECK (total > 0),
    amount INTEGER NOT NULL CHECK (amount > 0),
    payee TEXT NOT NULL,
    voucher BLOB NOT NULL CHECK (length(voucher) = 82),
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    memo TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
    error TEXT,
    signed_at_ms INTEGER NOT NULL,
    PRIMARY KEY (channel, seq)
  ) STRICT;
  CREATE INDEX signed_vouchers_pending ON signed_vouchers(channel, seq) WHERE state = 'pending';
  CREATE INDEX signed_vouchers_by_time ON signed_vouchers(signed_at_ms);

  -- What was signed, per payee and minute ('' = all payees): the spending policy sums at most
  -- a day of minutes, however many payments that day held.
  CREATE TABLE spending_minutes (
    payee TEXT NOT NULL,
    minute INTEGER NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (payee, minute)
  ) STRICT, WITHOUT ROWID;

  CREATE TRIGGER signed_vouchers_immutable BEFORE UPDATE OF channel, seq, total, amount, voucher, signature ON signed_vouchers BEGIN
    SELECT RAISE(ABORT, 'signed vouchers are immutable');
  END;

  -- Channels this agent is paid through, known from the service's certificate (or, lacking
  -- one, from a voucher the service forwarded after checking it).
  CREATE TABLE payee_channels (
    id BLOB PRIMARY KEY CHECK (length(id) = 32),
    payer TEXT NOT NULL,
    payer_key BLOB,
    deposit INTEGER,
    expires_at_s INTEGER,
    revision INTEGER NOT NULL DEFAULT 0,
    certificate BLOB,
    certificate_signature BLOB,
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    received_seq INTEGER NOT NULL DEFAULT 0,
    received_total INTEGER NOT NULL DEFAULT 0,
    received_voucher BLOB,
    received_signature BLOB,
    settled_total INTEGER NOT NULL DEFAULT 0,
    updated_at_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TRIGGER payee_channels_received_monotonic BEFORE UPDATE OF received_seq, received_total ON payee_channels
  WHEN NEW.received_seq < OLD.received_seq OR NEW.received_total < OLD.received_total BEGIN
    SELECT RAISE(ABORT, 'received seq and total only go up');
  END;

  CREATE TABLE received_vouchers (
    channel BLOB NOT NULL REFERENCES payee_channels(id),
    seq INTEGER NOT NULL,
    total INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    voucher BLOB NOT NULL,
    signature BLOB NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('service', 'direct')),
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (channel, seq)
  ) STRICT;
  CREATE INDEX received_vouchers_by_time ON received_vouchers(received_at_ms);

  -- Receipts this agent signed as payee, queued until the broker has taken them (PUBACK).
  CREATE TABLE receipts_out (
    channel BLOB NOT NULL REFERENCES payee_channels(id),
    seq INTEGER NOT NULL,
    total INTEGER NOT NULL,
    receipt BLOB NOT NULL,
    signature BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent')),
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (channel, seq)
  ) STRICT;
  CREATE INDEX receipts_out_pending ON receipts_out(channel, seq) WHERE state = 'pending';
  `,
  // 2: the salt of each memo digest (protocol v2), kept so the payer can show the payee its memo.
  `
  ALTER TABLE signed_vouchers ADD COLUMN memo_salt BLOB CHECK (memo_salt IS NULL OR length(memo_salt) = 16);
  `,
  // 3: seqs reserved ahead [docs/DESIGN.md rule 5]. One durable commit raises reserved_seq by a
  // block; the vouchers inside the block are committed without an fsync. A restart skips
  // signed_seq to reserved_seq (a voucher lost with an unsynced commit may have used any seq up
  // to it) and marks the channel unsynced until the service's accepted total is adopted.
  // Channels from before reserve nothing ahead: their reservation is what they signed.
  `
  ALTER TABLE payer_channels ADD COLUMN reserved_seq INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE payer_channels ADD COLUMN synced INTEGER NOT NULL DEFAULT 1 CHECK (synced IN (0, 1));
  UPDATE payer_channels SET reserved_seq = signed_seq;

  CREATE TRIGGER payer_channels_reserved_monotonic BEFORE UPDATE OF reserved_seq ON payer_channels
  WHEN NEW.reserved_seq < OLD.reserved_seq BEGIN
    SELECT RAISE(ABORT, 'reserved seq only goes up');
  END;
  -- The one exception to "one seq, one total": adopting the service's view after a restart raises
  -- the total at the skipped-to seq (no voucher is signed at it from here on; the next takes the
  -- seq after it). Still never downwards.
  DROP TRIGGER payer_channels_signed_monotonic;
  CREATE TRIGGER payer_channels_signed_monotonic BEFORE UPDATE OF signed_seq, signed_total ON payer_channels
  WHEN NEW.signed_seq < OLD.signed_seq OR NEW.signed_total < OLD.signed_total
    OR (NEW.signed_seq = OLD.signed_seq AND NEW.signed_total <> OLD.signed_total AND NOT (OLD.synced = 0 AND NEW.synced = 1)) BEGIN
    SELECT RAISE(ABORT, 'signed seq and total only go up');
  END;
  CREATE TRIGGER payer_channels_signed_within_reserved BEFORE UPDATE OF signed_seq ON payer_channels
  WHEN NEW.signed_seq > NEW.reserved_seq BEGIN
    SELECT RAISE(ABORT, 'a seq is signed only once reserved durably');
  END;
  `,
  // 4: hash-chain ticks (protocol v3). `payer_chains` holds the chain a payer streams ticks on:
  // its seed (stored, durably, before the checkpoint is published, so the chain is never lost
  // while the service may hold its checkpoint), the signed checkpoint and the highest index
  // released. A tick raises the channel's signed total at the checkpoint's seq, the one case where
  // one seq has several totals (each a total of the same chain), so the trigger allows it for
  // the seq of a stored chain. `payee_chains` holds the highest tick a payee checked.
  `
  CREATE TABLE payer_chains (
    channel BLOB PRIMARY KEY REFERENCES payer_channels(id),
    seq INTEGER NOT NULL CHECK (seq >= 1),
    seed BLOB NOT NULL CHECK (length(seed) = 32),
    checkpoint BLOB NOT NULL,
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    released_index INTEGER NOT NULL DEFAULT 0 CHECK (released_index >= 0)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE payee_chains (
    channel BLOB PRIMARY KEY CHECK (length(channel) = 32),
    checkpoint BLOB NOT NULL,
    signature BLOB NOT NULL CHECK (length(signature) = 64),
    highest_index INTEGER NOT NULL CHECK (highest_index >= 0),
    highest_link BLOB NOT NULL CHECK (length(highest_link) = 32)
  ) STRICT, WITHOUT ROWID;

  DROP TRIGGER payer_channels_signed_monotonic;
  CREATE TRIGGER payer_channels_signed_monotonic BEFORE UPDATE OF signed_seq, signed_total ON payer_channels
  WHEN NEW.signed_seq < OLD.signed_seq OR NEW.signed_total < OLD.signed_total
    OR (NEW.signed_seq = OLD.signed_seq AND NEW.signed_total <> OLD.signed_total AND NOT (OLD.synced = 0 AND NEW.synced = 1)
      AND NOT EXISTS (SELECT 1 FROM payer_chains WHERE channel = NEW.id AND seq = NEW.signed_seq)) BEGIN
    SELECT RAISE(ABORT, 'signed seq and total only go up');
  END;
  `,
];
