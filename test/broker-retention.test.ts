// Voucher retention (--voucher-retention-days) on a real broker and SQLite file: settled vouchers
// past the period are deleted; a channel's latest voucher, every voucher of a channel with
// unsettled value, and recent vouchers are kept; the ledger audit still passes.
import { afterEach, describe, expect, it } from 'vitest';
import { VOUCHERS_KEPT_PER_CHANNEL } from '../broker/limits.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { settledResult, startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import { openPayingChannel } from './helpers/ops-fixture.js';

const DAY_MS = 86_400_000;

describe('voucher retention', () => {
  let broker: RunningBroker | null = null;
  afterEach(async () => {
    await broker?.stop();
    broker = null;
  });

  const seqsOf = (running: RunningBroker, channel: Uint8Array): bigint[] =>
    (running.app.db.prepare('SELECT v.seq FROM vouchers v JOIN channels c ON c.num = v.channel WHERE c.id = ? ORDER BY v.seq').all(channel) as { seq: bigint }[]).map((row) => row.seq);

  /** Seqs 1..last as the log holds them: the newest VOUCHERS_KEPT_PER_CHANNEL (broker/store/sqlite/voucher-log.ts). */
  const logged = (last: number): bigint[] => Array.from({ length: last }, (_, i) => BigInt(i + 1)).slice(-VOUCHERS_KEPT_PER_CHANNEL);

  it("deletes settled vouchers past retention, never a channel's latest, an unsettled channel's, or ones within the period", async () => {
    let nowMs = Date.now();
    const running = await startBroker({ voucherRetentionDays: 1 }, undefined, { clock: { nowMs: () => nowMs } });
    broker = running;
    const money = { funds: '5', deposit: '1', step: '0.001' };
    const settled = await openPayingChannel(running, { payer: 'car-1', payee: 'charger-1' }, money);
    const unsettled = await openPayingChannel(running, { payer: 'car-2', payee: 'charger-2' }, money);
    await settled.pay(5);
    await unsettled.pay(3);
    await settledResult(running.app.service.settleNow());
    await unsettled.pay(1); // seq 4: this channel now has unsettled value

    // Within the period nothing goes, settled or not.
    const startMs = nowMs;
    nowMs = startMs + DAY_MS / 2;
    expect(await running.app.pruneVouchers()).toBe(0);
    expect(seqsOf(running, settled.channelId)).toEqual(logged(5));

    nowMs = startMs + 2 * DAY_MS;
    expect(await running.app.pruneVouchers()).toBe(logged(5).length - 1);
    expect(seqsOf(running, settled.channelId)).toEqual([5n]);
    expect(seqsOf(running, unsettled.channelId)).toEqual(logged(4));
    expect(auditLedger(running.app.db).filter((check) => !check.ok)).toEqual([]);
    expect(await running.app.pruneVouchers()).toBe(0);
    // Payments go on after a prune (back at the vouchers' own time: they expire in an hour).
    nowMs = startMs;
    await settled.pay(1);
    expect(seqsOf(running, settled.channelId)).toEqual([5n, 6n]);
  });

  it('keeps everything when retention is off (the default)', async () => {
    broker = await startBroker();
    expect(broker.app.config.voucherRetentionDays).toBeNull();
    expect(await broker.app.pruneVouchers()).toBeNull();
  });
});
