// Upgrading a ledger to the currency-and-payouts schema [docs/DESIGN.md rule 13]: a ledger of the
// previous release (devices, funding, a channel with a settled voucher, its certificate in the
// version 1 layout) keeps every transfer, balance and rowid through the rebuild of `transfers`,
// gets the default currency, and its old evidence still verifies; the immutability triggers are
// back, and the new kinds are accepted.
import { describe, expect, it } from 'vitest';
import { walletAccount } from '../broker/store/accounts.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { insertVoucher, setLatestVoucher } from '../broker/store/sqlite/channels.js';
import { ledgerCurrency } from '../broker/store/sqlite/ledger-currency.js';
import { MIGRATIONS } from '../broker/store/sqlite/migrations.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { payoutNow } from '../broker/store/sqlite/outflows.js';
import { settleInTransaction } from '../broker/store/sqlite/settle.js';
import { amountOf } from '../shared/amount.js';
import { sign } from '../shared/crypto.js';
import { encodeVoucher } from '../shared/voucher.js';
import { tempDir } from './helpers/broker-fixture.js';
import { legacyChannel, legacyLedger } from './helpers/legacy-ledger.js';

/** The migration that brought currency and payouts (found by content: others may be appended after it). */
const CURRENCY_MIGRATION = MIGRATIONS.findIndex((sql) => sql.includes('transfers_v5'));

describe('a ledger upgraded to currency and payouts', () => {
  it('keeps transfers, balances and evidence, gets EUR, and takes payouts', () => {
    expect(CURRENCY_MIGRATION).toBeGreaterThan(0);
    const dir = tempDir('mqpay-currency-upgrade-');
    try {
      const channel = legacyChannel(1);
      const { id, nowMs, expiresAtSeconds } = channel;
      const payer = channel.payer.keys;
      expect(channel.certificate).toHaveLength(191);
      const voucher = encodeVoucher({ channelId: id, seq: 1n, total: amountOf(400n), expiresAtSeconds, memoDigest: null });

      const { db: old, num } = legacyLedger(dir.path, CURRENCY_MIGRATION, channel);
      // Today's settlement also keeps hash-chain evidence, whose tables a later migration adds;
      // the release this ledger comes from had no chains, so empty stand-ins for this connection
      // only (TEMP: gone when it closes, before the upgrade creates the real ones).
      old.exec(`CREATE TEMP TABLE chains (channel INTEGER, seq INTEGER, checkpoint BLOB, signature BLOB, highest_index INTEGER, highest_link BLOB, revision INTEGER);
        CREATE TEMP TABLE settlement_ticks (settlement TEXT, channel INTEGER, seq INTEGER, total INTEGER, checkpoint BLOB, signature BLOB, tick_index INTEGER, preimage BLOB, revision INTEGER);`);
      old.transaction(() => {
        insertVoucher(old, num, 1n, amountOf(400n), sign(voucher, payer.secretKey), nowMs);
        setLatestVoucher(old, num, 1n, amountOf(400n), voucher, sign(voucher, payer.secretKey), false);
        settleInTransaction(old, { id: 'epoch-1', reason: 'epoch', nowMs, feePpm: 0 });
      })();
      const transfersBefore = old.prepare('SELECT rowid, * FROM transfers ORDER BY rowid').all();
      const balancesBefore = old.prepare('SELECT name, balance FROM accounts ORDER BY name').all();
      expect(() => old.prepare("INSERT INTO transfers (id, from_account, to_account, amount, kind, created_at_ms) VALUES ('payout:x', 3, 1, 1, 'payout', 0)").run()).toThrow(/CHECK/);
      old.close();

      const db = openDatabase(dir.path);
      try {
        expect(ledgerCurrency(db)).toBe('EUR');
        expect(db.prepare('SELECT rowid, * FROM transfers ORDER BY rowid').all()).toEqual(transfersBefore);
        expect(db.prepare('SELECT name, balance FROM accounts ORDER BY name').all()).toEqual(balancesBefore);
        // The settled voucher's evidence, judged against the version 1 certificate, still verifies.
        const checks = auditLedger(db, { verifySignatures: true });
        expect(checks.filter((check) => !check.ok)).toEqual([]);
        expect(checks.find((check) => check.name.startsWith('signatures: the voucher behind'))?.detail).toBe('1 settled vouchers verified');

        expect(() => db.prepare("UPDATE transfers SET amount = 1 WHERE id = 'fund:van-1'").run()).toThrow(/immutable/);
        expect(() => db.prepare("DELETE FROM transfers WHERE id = 'fund:van-1'").run()).toThrow(/immutable/);
        expect(payoutNow(db, { from: walletAccount('dock-1'), amount: amountOf(400n), key: 'out-1', nowMs })).toMatchObject({ kind: 'moved', balance: 0n });
        expect(auditLedger(db).filter((check) => !check.ok)).toEqual([]);
      } finally {
        db.close();
      }
    } finally {
      dir.remove();
    }
  });
});
