// A payee judges vouchers handed to it directly against the service-signed channel
// certificate: valid ones are stored, receipted and reported; tampered, forged, replayed,
// double-signed, over-deposit, expired and unknown-channel vouchers are refused with their
// error code and change nothing.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../agent/agent-api.js';
import { readKeyFile } from '../agent/home/key-file.js';
import type { ReceivedPayment, VoucherMessage } from '../agent/types.js';
import { amountOf } from '../shared/amount.js';
import { sign, verify } from '../shared/crypto.js';
import { MqpayError } from '../shared/errors.js';
import { fromHex, toHex } from '../shared/hex.js';
import { channelIdFromHex } from '../shared/ids.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { decodeReceipt } from '../shared/receipt.js';
import { decodeVoucher, encodeVoucher, type Voucher } from '../shared/voucher.js';
import { random, startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import { AgentBed, NETWORK_POLL } from './helpers/agent-fixture.js';

const nowSeconds = (): bigint => BigInt(Math.floor(Date.now() / 1000));

function signed(keys: KeyPair, voucher: Voucher): VoucherMessage {
  const bytes = encodeVoucher(voucher);
  return { v: 3, voucher: toHex(bytes), signature: toHex(sign(bytes, keys.secretKey)) };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => null, (failure: unknown) => failure);
  expect(error).toBeInstanceOf(MqpayError);
  return (error as MqpayError).code;
}

describe('agent: payee checks vouchers handed over directly', () => {
  let broker: RunningBroker;
  let bed: AgentBed;
  let car: Agent;
  let charger: Agent;
  let carKeys: KeyPair;
  let received: ReceivedPayment[];
  let channel: string;

  beforeEach(async () => {
    broker = await startBroker();
    bed = new AgentBed(broker);
    const carHome = bed.home('car-2', { funds: '5', config: { channel: { deposit: '1' } } });
    carKeys = readKeyFile(join(carHome, 'key'));
    car = await bed.start(carHome);
    charger = await bed.agent('charger-2');
    received = [];
    charger.onPayment((payment) => {
      received.push(payment);
    });
    channel = (await car.pay('charger-2', '0.1')).channel; // opens the channel; the certificate reaches the charger
    await expect.poll(() => charger.channels().paid[0]?.certified, NETWORK_POLL).toBe(true);
    await expect.poll(() => received.length, NETWORK_POLL).toBe(1);
  });
  afterEach(async () => {
    await bed.cleanup();
    await broker.stop();
  });

  // Vouchers are made here with the car's key rather than by the car agent, which would also
  // publish them to the service (and the service's forward would race the direct handover).
  const voucherOf = (seq: bigint, total: bigint, keys: KeyPair = carKeys, expiresAtSeconds = nowSeconds() + 600n): VoucherMessage =>
    signed(keys, { channelId: channelIdFromHex(channel), seq, total: amountOf(total), expiresAtSeconds, memoDigest: null });

  it('accepts a valid voucher with a receipt signed by the payee, and refuses its replay', async () => {
    const valid = voucherOf(2n, 300_000n);
    const taken = await charger.receiveVoucher(valid);
    expect(taken).toMatchObject({ channel, payer: 'car-2', seq: 2n, total: 300_000n, amount: 200_000n, source: 'direct', certified: true });
    const receipt = fromHex(taken.receipt.receipt);
    expect(decodeReceipt(receipt)).toMatchObject({ seq: 2n, total: 300_000n });
    expect(verify(fromHex(taken.receipt.signature), receipt, fromHex(charger.publicKey))).toBe(true);
    // The car agent never signed seq 2 itself, so it does not take a receipt for it.
    expect(car.receiveReceipt(taken.receipt)).toBe(false);

    expect(await codeOf(charger.receiveVoucher(valid))).toBe('VOUCHER_SEQ_NOT_INCREASING');
    expect(await codeOf(charger.receiveVoucher(voucherOf(1n, 100_000n)))).toBe('VOUCHER_SEQ_NOT_INCREASING');
    await expect.poll(() => received.length, NETWORK_POLL).toBe(2);
    expect(charger.channels().paid[0]).toMatchObject({ receivedSeq: '2', receivedTotal: '0.3' });
  });

  it('refuses tampered, forged, double-signed, over-deposit, expired and unknown-channel vouchers', async () => {
    const valid = voucherOf(2n, 300_000n);
    const bytes = fromHex(valid.voucher);
    bytes[50] = (bytes[50] ?? 0) ^ 0x01; // a bit of the total (offset 9 + 32 + 8 = 49..56)
    expect(decodeVoucher(bytes).total).not.toBe(decodeVoucher(fromHex(valid.voucher)).total);
    expect(await codeOf(charger.receiveVoucher({ ...valid, voucher: toHex(bytes) }))).toBe('SIGNATURE_INVALID');
    const signature = fromHex(valid.signature);
    signature[5] = (signature[5] ?? 0) ^ 0x80;
    expect(await codeOf(charger.receiveVoucher({ ...valid, signature: toHex(signature) }))).toBe('SIGNATURE_INVALID');

    expect(await codeOf(charger.receiveVoucher(voucherOf(3n, 400_000n, generateKeyPair(random))))).toBe('SIGNATURE_INVALID');
    expect(await codeOf(charger.receiveVoucher(voucherOf(3n, 1_000_001n)))).toBe('VOUCHER_ABOVE_DEPOSIT');
    expect(await codeOf(charger.receiveVoucher(voucherOf(3n, 400_000n, carKeys, nowSeconds() - 1n)))).toBe('VOUCHER_EXPIRED');
    const elsewhere = signed(carKeys, { channelId: random(32), seq: 3n, total: amountOf(400_000n), expiresAtSeconds: nowSeconds() + 600n, memoDigest: null });
    expect(await codeOf(charger.receiveVoucher(elsewhere))).toBe('CHANNEL_UNKNOWN');
    expect(await codeOf(charger.receiveVoucher({ ...valid, voucher: valid.voucher.slice(2) }))).toBe('MESSAGE_INVALID');

    await charger.receiveVoucher(valid); // the genuine one still goes through
    expect(await codeOf(charger.receiveVoucher(voucherOf(2n, 350_000n)))).toBe('VOUCHER_DOUBLE_SIGNED');
    expect(await codeOf(charger.receiveVoucher(voucherOf(3n, 300_000n)))).toBe('VOUCHER_TOTAL_NOT_INCREASING');
    await expect.poll(() => received.length, NETWORK_POLL).toBe(2);
    expect(received.map((p) => p.seq)).toEqual([1n, 2n]);
    expect(charger.channels().paid[0]).toMatchObject({ receivedSeq: '2', receivedTotal: '0.3' });
  });
});
