// Upgrading a ledger to schema 3 (evidence kept) [docs/DESIGN.md rule 11]: a channel whose latest
// voucher was accepted under schema 2 has no bytes for it. Settling it after the upgrade keeps no
// evidence, and `--verify-signatures` knows why rather than failing; the channel's next voucher
// (with bytes) is kept and re-verified as usual.
import { describe, expect, it } from 'vitest';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { getChannel, insertVoucher, setLatestVoucher } from '../broker/store/sqlite/channels.js';
import { openDatabase } from '../broker/store/sqlite/open-database.js';
import { settleInTransaction } from '../broker/store/sqlite/settle.js';
import { amountOf } from '../shared/amount.js';
import { sign } from '../shared/crypto.js';
import { encodeVoucher } from '../shared/voucher.js';
import { tempDir } from './helpers/broker-fixture.js';
import { legacyChannel, legacyLedger } from './helpers/legacy-ledger.js';

describe('evidence on a ledger upgraded from schema 2', () => {
  it('a voucher accepted before the upgrade settles without evidence and the signature audit holds; the next one is kept and verified', () => {
    const dir = tempDir('mqpay-upgrade-');
    try {
      const channel = legacyChannel(2);
      const { id, nowMs, expiresAtSeconds } = channel;
      const payer = channel.payer.keys;
      const v1 = encodeVoucher({ channelId: id, seq: 1n, total: amountOf(100n), expiresAtSeconds, memoDigest: null });

      // Schema 2, as a broker of the previous release left it: a channel with an accepted, unsettled voucher.
      const { db: old, num } = legacyLedger(dir.path, 2, channel);
      old.transaction(() => {
        insertVoucher(old, num, 1n, amountOf(100n), sign(v1, payer.secretKey), nowMs);
        old.prepare('UPDATE channels SET latest_seq = 1, latest_total = 100, latest_signature = ? WHERE num = ?').run(sign(v1, payer.secretKey), num);
      })();
      old.close();

      const db = openDatabase(dir.path);
      try {
        const row = getChannel(db, id);
        expect(row).toMatchObject({ latestSeq: 1n, latestVoucher: null, latestRevision: null });
        db.transaction(() => settleInTransaction(db, { id: 'epoch-1', reason: 'epoch', nowMs, feePpm: 0 })).immediate();
        expect(db.prepare('SELECT count(*) AS n FROM settlement_vouchers').get()).toEqual({ n: 0n });
        expect(auditLedger(db, { verifySignatures: true }).filter((check) => !check.ok)).toEqual([]);

        const v2 = encodeVoucher({ channelId: id, seq: 2n, total: amountOf(300n), expiresAtSeconds, memoDigest: null });
        db.transaction(() => {
          insertVoucher(db, row?.num ?? 0n, 2n, amountOf(300n), sign(v2, payer.secretKey), nowMs);
          setLatestVoucher(db, row?.num ?? 0n, 2n, amountOf(300n), v2, sign(v2, payer.secretKey), false);
          settleInTransaction(db, { id: 'epoch-2', reason: 'epoch', nowMs, feePpm: 0 });
        }).immediate();
        expect(db.prepare('SELECT settlement, seq FROM settlement_vouchers').all()).toEqual([{ settlement: 'epoch-2', seq: 2n }]);
        const checks = auditLedger(db, { verifySignatures: true });
        expect(checks.filter((check) => !check.ok)).toEqual([]);
        expect(checks.find((check) => check.name.startsWith('signatures: the voucher behind'))?.detail).toBe('1 settled vouchers verified');
      } finally {
        db.close();
      }
    } finally {
      dir.remove();
    }
  });
});
