// A dispute window survives a power cut [docs/DESIGN.md rule 11]: the broker (the built bin, a
// child process) is SIGKILLed while a channel is closing. The deadline is in the database, so
// after a restart it is the same; the restarted broker settles the channel at the deadline,
// once: one close settlement, one refund, and a second kill and restart change nothing (a later
// epoch, observed through another channel, settles only that one). The ledger audits clean,
// signatures included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceLink } from '../agent/link/link.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { addDevice } from '../broker/store/sqlite/devices.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { fundWallet } from '../broker/store/sqlite/ledger.js';
import { openDatabase, type Db } from '../broker/store/sqlite/open-database.js';
import { parseAmount } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { generateKeyPair } from '../shared/keys.js';
import { newChannelId } from '../shared/ids.js';
import { freePort, startChildBroker, type ChildBroker } from './helpers/child-broker.js';
import { payVoucher, random, signedVoucher, tempDir } from './helpers/broker-fixture.js';

const WINDOW_S = 3;
const DEADLINE_POLL = { timeout: 20_000, interval: 50 } as const;

function reading<T>(path: string, read: (db: Db) => T): T {
  const db = openDatabase(path);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

describe('broker crash (SIGKILL) while a channel is closing', () => {
  const dir = tempDir('mqpay-crash-closing-');
  const payerKeys = generateKeyPair(random);
  const payeeKeys = generateKeyPair(random);
  let port = 0;
  let broker: ChildBroker | null = null;

  beforeAll(async () => {
    reading(dir.path, (db) => {
      addDevice(db, 'meter-9', payerKeys.publicKey, Date.now());
      addDevice(db, 'pump-9', payeeKeys.publicKey, Date.now());
      fundWallet(db, 'meter-9', parseAmount('10'), 'meter-9', Date.now());
    });
    port = await freePort();
  });
  afterAll(async () => {
    await broker?.kill('SIGKILL');
    dir.remove();
  });

  const start = async () => {
    broker = await startChildBroker(['--data', dir.path, '--mqtt-port', String(port), '--epoch-seconds', '1', '--close-window-seconds', String(WINDOW_S), '--log-level', 'warn', '--operator-token', 'crash-closing-operator-token']);
  };
  const connect = () => DeviceLink.connect({ url: `mqtt://127.0.0.1:${port}`, device: 'meter-9', secretKey: payerKeys.secretKey, brokerId: 'mqpay', clock: { nowMs: () => Date.now() }, random, reconnectPeriodMs: 100, requestTimeoutMs: 10_000 });

  it('keeps the deadline across SIGKILL and settles the channel exactly once', async () => {
    await start();
    let link = await connect();
    const channelId = newChannelId(random);
    const hex = toHex(channelId);
    await link.request('channel.open', { channel: hex, payee: 'pump-9', deposit: '2', durationSeconds: 3600 });
    expect(await payVoucher(link, signedVoucher(payerKeys, { channelId, seq: 1n, total: parseAmount('0.5') }))).toMatchObject({ type: 'voucher.accepted' });
    const closing = await link.request('channel.close', { channel: hex }) as { channel: { state: string; closesAtMs: number } };
    expect(closing.channel.state).toBe('closing');
    await link.close();
    await broker?.kill('SIGKILL');

    const before = reading(dir.path, (db) => getChannel(db, channelId));
    expect(before).toMatchObject({ state: 'closing', closingDeadlineMs: closing.channel.closesAtMs, closeRequestedBy: 'payer' });

    await start();
    const after = reading(dir.path, (db) => getChannel(db, channelId));
    expect(after?.closingDeadlineMs).toBe(closing.channel.closesAtMs);
    await expect.poll(() => reading(dir.path, (db) => getChannel(db, channelId)?.state), DEADLINE_POLL).toBe('closed');
    expect(reading(dir.path, (db) => getChannel(db, channelId)?.closedAtMs)).toBeGreaterThanOrEqual(closing.channel.closesAtMs);

    // Kill again and restart: a later epoch (seen through a second channel's settlement) must not touch the first.
    await broker?.kill('SIGKILL');
    await start();
    link = await connect();
    const second = newChannelId(random);
    await link.request('channel.open', { channel: toHex(second), payee: 'pump-9', deposit: '1', durationSeconds: 3600 });
    expect(await payVoucher(link, signedVoucher(payerKeys, { channelId: second, seq: 1n, total: parseAmount('0.25') }))).toMatchObject({ type: 'voucher.accepted' });
    await expect.poll(() => reading(dir.path, (db) => getChannel(db, second)?.settledTotal), DEADLINE_POLL).toBe(250_000n);
    await link.close();
    await broker?.kill('SIGTERM');

    reading(dir.path, (db) => {
      const channel = getChannel(db, channelId);
      expect(channel).toMatchObject({ state: 'closed', settledTotal: 500_000n });
      const moves = db.prepare("SELECT kind, count(*) AS n, sum(amount) AS amount FROM transfers WHERE channel = ? AND kind IN ('settle', 'refund') GROUP BY kind ORDER BY kind").all(channel?.num) as { kind: string; n: bigint; amount: bigint }[];
      expect(moves).toEqual([{ kind: 'refund', n: 1n, amount: 1_500_000n }, { kind: 'settle', n: 1n, amount: 500_000n }]);
      expect(auditLedger(db, { verifySignatures: true }).filter((check) => !check.ok)).toEqual([]);
    });
  }, 60_000);
});
