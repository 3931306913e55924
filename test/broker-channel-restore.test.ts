// channel.restore, the service's side: after a restore from a backup, a party hands back a
// channel the ledger forgot (certificate signed by the service's own key, and the payer's
// latest voucher) and the service re-creates it with its escrow, in one unit of work; a known
// channel behind is brought forward; a repeat changes nothing; a certificate the service did
// not sign, a stranger, and a wallet that cannot cover the deposit yet (retryable) are refused.
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { readRestoreRecord } from '../broker/store/sqlite/restore-record.js';
import { fundWallet } from '../broker/store/sqlite/ledger.js';
import { amountOf, parseAmount } from '../shared/amount.js';
import { encodeCertificate, decodeCertificate } from '../shared/certificate.js';
import { sign } from '../shared/crypto.js';
import { fromHex, toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { MqpayError } from '../shared/errors.js';
import type { DeviceLink } from '../agent/link/link.js';
import { payVoucher, random, signedVoucher, startBroker, tempDir, type RunningBroker } from './helpers/broker-fixture.js';
import { runCli } from './helpers/ops-cli.js';

let broker: RunningBroker | null = null;
const scratch = tempDir('mqpay-restore-rpc-');
afterEach(async () => {
  await broker?.stop();
  broker = null;
});
afterAll(() => scratch.remove());

interface Opened { id: Uint8Array; certificate: string; signature: string }

async function open(link: DeviceLink, payee: string, deposit: string): Promise<Opened> {
  const id = newChannelId(random);
  const result = await link.request('channel.open', { channel: toHex(id), payee, deposit, durationSeconds: 3600 }) as { certificate: string; signature: string };
  return { id, certificate: result.certificate, signature: result.signature };
}

describe('channel.restore', () => {
  it('re-creates a forgotten channel, brings a known one forward, and refuses what it must', async () => {
    const dataDir = join(scratch.path, 'data');
    broker = await startBroker({}, dataDir);
    const car = broker.enrol('car-1', '10');
    broker.enrol('charger-1');
    const strangerKeys = broker.enrol('stranger');
    let link = await broker.link('car-1', car);
    const known = await open(link, 'charger-1', '4');
    expect((await payVoucher(link, signedVoucher(car, { channelId: known.id, seq: 1n, total: amountOf(100n) }))).type).toBe('voucher.accepted');
    const backup = join(scratch.path, 'b.db');
    expect((await runCli(['ledger', 'backup', '--data', dataDir, '--to', backup])).code).toBe(0);
    // After the backup: more on the known channel, and a new channel.
    const late = signedVoucher(car, { channelId: known.id, seq: 5n, total: amountOf(900n) });
    expect((await payVoucher(link, late)).type).toBe('voucher.accepted');
    const forgotten = await open(link, 'charger-1', '3');
    const lateOnNew = signedVoucher(car, { channelId: forgotten.id, seq: 2n, total: amountOf(2_000_000n) });
    expect((await payVoucher(link, lateOnNew)).type).toBe('voucher.accepted');
    await broker.stop();

    const restoredDir = join(scratch.path, 'restored');
    expect((await runCli(['ledger', 'restore', '--from', backup, '--data', restoredDir])).code).toBe(0);
    broker = await startBroker({}, restoredDir);
    link = await broker.link('car-1', car);
    const restore = (opened: Opened, voucher: { voucher: string; signature: string } | null, on: DeviceLink = link) => on.request('channel.restore', {
      certificate: opened.certificate, signature: opened.signature, ...(voucher === null ? {} : { voucher: voucher.voucher, voucherSignature: voucher.signature }),
    });

    // Known but behind: brought forward by the payer's latest voucher.
    expect(await restore(known, late)).toMatchObject({ created: false, healed: '0.0008', channel: { seq: '5', total: '0.0009' } });
    // A repeat changes nothing.
    expect(await restore(known, late)).toMatchObject({ created: false, healed: '0', channel: { seq: '5' } });

    // A certificate the service did not sign is refused.
    const forged = decodeCertificate(fromHex(forgotten.certificate));
    const otherService: KeyPair = generateKeyPair(random);
    const forgedBytes = encodeCertificate({ ...forged, deposit: parseAmount('1') });
    await expect(restore({ ...forgotten, certificate: toHex(forgedBytes), signature: toHex(sign(forgedBytes, otherService.secretKey)) }, null)).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    // A stranger to the channel may not.
    const stranger = await broker.link('stranger', strangerKeys);
    await expect(restore(forgotten, lateOnNew, stranger)).rejects.toMatchObject({ code: 'NOT_AUTHORIZED' });

    // The wallet in the backup holds 6 after the first deposit; spend it so the 3 cannot be covered.
    await open(link, 'charger-1', '6');
    const pending = restore(forgotten, lateOnNew);
    await expect(pending).rejects.toBeInstanceOf(MqpayError);
    await expect(pending).rejects.toMatchObject({ code: 'RESTORE_FUNDS_PENDING', retryable: true });
    expect(getChannel(broker.app.db, forgotten.id)).toBeNull();

    // The operator replays the funding; the retry re-creates the channel with its voucher.
    fundWallet(broker.app.db, 'car-1', parseAmount('3'), 'replayed', Date.now());
    expect(await restore(forgotten, lateOnNew)).toMatchObject({ created: true, healed: '2', channel: { seq: '2', total: '2', deposit: '3', state: 'open' } });
    expect(await link.request('wallet.balance', {})).toEqual({ device: 'car-1', balance: '0' });
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
    expect(readRestoreRecord(broker.app.db)).toMatchObject({ healedChannels: 2, healedCreated: 1, healedAmount: 2_000_800n });
    // The payer's next voucher on the re-created channel is taken as on any channel.
    expect((await payVoucher(link, signedVoucher(car, { channelId: forgotten.id, seq: 3n, total: amountOf(2_500_000n) }))).type).toBe('voucher.accepted');
  });
});
