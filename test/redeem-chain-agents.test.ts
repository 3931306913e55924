// A hash chain the service lost is redeemed by the payee's agent by itself (channel.redeemChain,
// v3.1) [docs/DESIGN.md rule 11], end to end through a real broker and real agents: the payer
// streams ticks, the broker's ledger is backed up mid-stream, the payer goes on, then vanishes;
// the broker is restored from the backup (it lost the last ticks) and restarted on the same port.
// The payee reconnects, finds the service's total below the chain it holds at the same seq, and
// redeems the checkpoint and its highest link; settlement then pays exactly checkpoint + highest
// index x price, and the ledger check re-verifies the chain.
import { copyFileSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { walletAccount } from '../broker/store/accounts.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { amountOf, formatAmount, parseAmount } from '../shared/amount.js';
import { channelIdFromHex } from '../shared/ids.js';
import { NETWORK_POLL, restartableBedPerTest } from './helpers/agent-fixture.js';

describe('redemption of a hash chain by the payee agent after the broker lost ticks', () => {
  const env = restartableBedPerTest();

  it('the payer gone and the ledger restored from a backup, the payee redeems its chain on reconnect and is paid every tick it checked', async () => {
    const broker = await env.start();
    const bed = env.bed();
    const car = await bed.agent('car-1', { funds: '10', config: { channel: { deposit: '5' } } });
    const charger = await bed.agent('charger-1');
    const stream = car.stream('charger-1', { amountPerSecond: '1', intervalMs: 20 });
    await expect.poll(() => stream.paid, NETWORK_POLL).toBeGreaterThanOrEqual(100_000n);
    // The backup: a consistent copy of the ledger while ticks flow.
    await broker.app.service.flush();
    const backup = `${broker.dataDir}/backup.db`;
    broker.app.db.exec(`VACUUM INTO '${backup}'`);
    const channel = channelIdFromHex(car.channels().paying[0]?.channel ?? '');
    const backedUp = getChannel(broker.app.db, channel)?.latestTotal ?? -1n;
    await expect.poll(() => stream.paid, NETWORK_POLL).toBeGreaterThanOrEqual(backedUp + 200_000n);
    const { paid } = await stream.stop();
    await car.stop(); // the payer is gone for good
    await expect.poll(() => charger.channels().paid[0]?.receivedTotal, NETWORK_POLL).toBe(formatAmount(paid));

    const dbPath = broker.app.db.name;
    await broker.stop();
    for (const suffix of ['-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
    copyFileSync(backup, dbPath);
    const restored = await env.start(); // on the same port: the payee's agent reconnects
    expect(getChannel(restored.app.db, channel)?.latestTotal).toBe(backedUp);
    expect(backedUp).toBeLessThan(paid);

    // The payee's agent reconnects and redeems by itself: the service holds the chain again, to its last tick.
    await expect.poll(() => getChannel(restored.app.db, channel)?.latestTotal, NETWORK_POLL).toBe(paid);
    const report = await charger.redeem();
    expect(report.complete).toBe(true);
    expect(report.channels[0]).toMatchObject({ serviceTotal: paid, submitted: false });
    await restored.app.service.tick();
    expect(balanceOf(restored.app.db, walletAccount('charger-1'))).toBe(paid);
    expect(amountOf(paid) % parseAmount('0.02')).toBe(0n); // whole ticks of 20 ms at 1 per second
    const checks = auditLedger(restored.app.db, { verifySignatures: true });
    expect(checks.filter((check) => !check.ok)).toEqual([]);
    expect(checks.find((check) => check.name.startsWith('signatures: the checkpoint and preimage'))?.detail).toBe('1 settled chains verified');
  });
});
