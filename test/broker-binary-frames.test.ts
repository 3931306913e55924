// The binary fast path of protocol v3 through a real broker (aedes on loopback, real SQLite, real
// MQTT.js clients): vouchers and receipts as signed bytes + signature on out/voucher-bin and
// out/receipt-bin, answered and forwarded as binary frames; malformed frames refused without
// harm; the ACL on the new boxes; the deprecated JSON form still answered in JSON and counted.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceLink } from '../agent/link/link.js';
import { amountOf } from '../shared/amount.js';
import { sign, verify } from '../shared/crypto.js';
import { bytesEqual, toHex } from '../shared/hex.js';
import { decodeReceiptInboxFrame, decodeVoucherInboxFrame, type ReceiptInboxFrame, type VoucherInboxFrame } from '../shared/inbox-frames.js';
import type { KeyPair } from '../shared/keys.js';
import { encodeReceipt } from '../shared/receipt.js';
import { encodeReceiptFrame, encodeVoucherFrame } from '../shared/signed-frames.js';
import { inboxTopic, outboxTopic, TOPIC_ROOT } from '../shared/topics.js';
import { decodeVoucher, encodeVoucher } from '../shared/voucher.js';
import { closedWithin, connectPassword, countRows, deviceClient, expectLedgerUnchanged, ledgerFingerprint, openChannel, tryConnect } from './helpers/broker-adversary.js';
import { nextInbox, startBroker, type RunningBroker } from './helpers/broker-fixture.js';

const expiresAtSeconds = (): bigint => BigInt(Math.floor(Date.now() / 1000) + 3_600);
const voucherBytes = (channelId: Uint8Array, seq: bigint, total: bigint): Uint8Array => encodeVoucher({ channelId, seq, total: amountOf(total), expiresAtSeconds: expiresAtSeconds(), memoDigest: null });
const voucherFrame = (keys: KeyPair, channelId: Uint8Array, seq: bigint, total: bigint): Uint8Array => {
  const bytes = voucherBytes(channelId, seq, total);
  return encodeVoucherFrame(bytes, sign(bytes, keys.secretKey));
};

/** The next frame on a link's `box` ('voucher-bin' or 'receipt-bin') that `match` takes. */
function nextFrame<T>(link: DeviceLink, box: string, decode: (bytes: Uint8Array) => T, match: (frame: T) => boolean, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      link.off('inbox', onInbox);
      reject(new Error(`no matching frame on in/${box} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onInbox = (received: string, payload: Uint8Array) => {
      if (received !== box) return;
      const frame = decode(payload);
      if (!match(frame)) return;
      clearTimeout(timer);
      link.off('inbox', onInbox);
      resolve(frame);
    };
    link.on('inbox', onInbox);
  });
}
const nextVoucherFrame = (link: DeviceLink, match: (frame: VoucherInboxFrame) => boolean = () => true) => nextFrame(link, 'voucher-bin', decodeVoucherInboxFrame, match);
const nextReceiptFrame = (link: DeviceLink, match: (frame: ReceiptInboxFrame) => boolean = () => true) => nextFrame(link, 'receipt-bin', decodeReceiptInboxFrame, match);
const verdictFor = (channelId: Uint8Array, seq: bigint) => (frame: VoucherInboxFrame): boolean =>
  (frame.type === 'voucher.accepted' && bytesEqual(frame.channelId, channelId) && frame.seq === seq) || (frame.type === 'voucher.rejected' && frame.key !== null && bytesEqual(frame.key.channelId, channelId) && frame.key.seq === seq);

describe('broker: the binary fast path (protocol v3)', () => {
  let broker: RunningBroker;
  let carKeys: KeyPair;
  let meterKeys: KeyPair;
  let malloryKeys: KeyPair;
  let car: DeviceLink;
  let meter: DeviceLink;
  let channelId: Uint8Array;
  let seq = 0n;

  beforeAll(async () => {
    broker = await startBroker();
    carKeys = broker.enrol('car-1', '10');
    meterKeys = broker.enrol('meter-1', '1');
    malloryKeys = broker.enrol('mallory', '1');
    car = await broker.link('car-1', carKeys);
    meter = await broker.link('meter-1', meterKeys);
    channelId = await openChannel(car, 'meter-1', '1');
  });
  afterAll(async () => {
    await broker?.stop();
  });

  /** Publishes the car's next voucher (total 100 µ per seq) as a frame and returns its verdict. */
  async function payNext(): Promise<VoucherInboxFrame> {
    seq += 1n;
    const verdict = nextVoucherFrame(car, verdictFor(channelId, seq));
    await car.publishFrame('voucher-bin', voucherFrame(carKeys, channelId, seq, seq * 100n));
    return verdict;
  }

  it('a voucher frame is accepted with a binary verdict, stored, and forwarded to the payee as a frame', async () => {
    const forwarded = nextVoucherFrame(meter, (frame) => frame.type === 'voucher');
    const stored = countRows(broker.app.db, 'vouchers');
    expect(await payNext()).toEqual({ type: 'voucher.accepted', channelId, seq: 1n, total: 100n });
    expect(countRows(broker.app.db, 'vouchers')).toBe(stored + 1);
    const forward = await forwarded;
    expect(forward).toMatchObject({ type: 'voucher', payer: 'car-1' });
    if (forward.type !== 'voucher') throw new Error('not a forward');
    // The bytes and signature exactly as the payer signed them: the payee checks them offline.
    expect(decodeVoucher(forward.bytes)).toMatchObject({ channelId, seq: 1n, total: 100n });
    expect(verify(forward.signature, forward.bytes, carKeys.publicKey)).toBe(true);
    expect(broker.app.service.telemetry.jsonDeprecated.size).toBe(0);
  });

  it("the payee's receipt frame is stored and forwarded to the payer as a frame", async () => {
    const receipt = encodeReceipt({ channelId, seq: 1n, total: amountOf(100n) });
    const signature = sign(receipt, meterKeys.secretKey);
    const forwarded = nextReceiptFrame(car);
    const stored = countRows(broker.app.db, 'receipts');
    await meter.publishFrame('receipt-bin', encodeReceiptFrame(receipt, signature));
    expect(await forwarded).toEqual({ type: 'receipt', payee: 'meter-1', bytes: receipt, signature });
    expect(countRows(broker.app.db, 'receipts')).toBe(stored + 1);
  });

  it('a payer that subscribes with in/+ (not in/#) gets its latest receipt re-sent as a frame', async () => {
    // The receipt of the test above is stored; car-1 reconnects on a raw client without `in/#`.
    // Its link is closed first: left open, it would reconnect and take the session back from the
    // raw client, then from the link that replaces it below, back and forth for the rest of the file.
    await car.close();
    const outcome = await tryConnect(broker.url, { clientId: 'car-1', username: 'car-1', password: connectPassword({ device: 'car-1', broker: broker.app.config.brokerId, keys: carKeys }) });
    if (!outcome.connected) throw new Error(`car-1 could not connect (return code ${String(outcome.returnCode)})`);
    const raw = outcome.client;
    try {
      const resent = new Promise<Uint8Array>((resolve) => raw.on('message', (topic, payload) => { if (topic === inboxTopic('car-1', 'receipt-bin')) resolve(new Uint8Array(payload)); }));
      await raw.subscribeAsync(`${TOPIC_ROOT}/d/car-1/in/+`, { qos: 1 });
      expect(decodeReceiptInboxFrame(await resent)).toMatchObject({ type: 'receipt', payee: 'meter-1' });
    } finally {
      await raw.endAsync();
      car = await broker.link('car-1', carKeys);
    }
  });

  it('a receipt frame with a bad signature is refused with a binary rejection naming it, and not forwarded', async () => {
    const receipt = encodeReceipt({ channelId, seq: 1n, total: amountOf(100n) });
    const refused = nextReceiptFrame(meter);
    await meter.publishFrame('receipt-bin', encodeReceiptFrame(receipt, sign(receipt, malloryKeys.secretKey)));
    expect(await refused).toEqual({ type: 'receipt.rejected', code: 'SIGNATURE_INVALID', key: { channelId, seq: 1n } });
  });

  it('a voucher frame signed by another key is refused SIGNATURE_INVALID with its channel and seq', async () => {
    seq += 1n;
    const bytes = voucherBytes(channelId, seq, seq * 100n);
    const verdict = nextVoucherFrame(car, verdictFor(channelId, seq));
    await car.publishFrame('voucher-bin', encodeVoucherFrame(bytes, sign(bytes, malloryKeys.secretKey)));
    expect(await verdict).toEqual({ type: 'voucher.rejected', code: 'SIGNATURE_INVALID', key: { channelId, seq } });
    seq -= 1n;
  });

  it('malformed frames are refused ENCODING_INVALID (no key), change nothing, and the session goes on', async () => {
    const good = voucherFrame(carKeys, channelId, 99n, 9_900n);
    const malformed: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['one byte short', good.subarray(0, good.length - 1)],
      ['a trailing byte', Uint8Array.from([...good, 0])],
      ['JSON on the binary box', new TextEncoder().encode(JSON.stringify({ v: 3, voucher: toHex(good.subarray(0, 82)), signature: toHex(good.subarray(82)) }))],
      ['wrong domain tag', Uint8Array.from(good, (byte, i) => (i === 6 ? 0x52 : byte))],
    ];
    const before = ledgerFingerprint(broker.app.db);
    for (const [name, payload] of malformed) {
      const refused = nextVoucherFrame(car, (frame) => frame.type === 'voucher.rejected' && frame.key === null);
      await car.publishFrame('voucher-bin', payload);
      expect(await refused, name).toEqual({ type: 'voucher.rejected', code: 'ENCODING_INVALID', key: null });
    }
    const receiptRefused = nextReceiptFrame(meter);
    await meter.publishFrame('receipt-bin', new Uint8Array(7));
    expect(await receiptRefused).toEqual({ type: 'receipt.rejected', code: 'ENCODING_INVALID', key: null });
    expectLedgerUnchanged(broker.app.db, before);
    expect(car.connected && meter.connected).toBe(true);
    expect(await payNext()).toMatchObject({ type: 'voucher.accepted', seq });
  });

  it('the deprecated JSON form is still accepted, answered in JSON, counted, and its forward is a frame', async () => {
    seq += 1n;
    const bytes = voucherBytes(channelId, seq, seq * 100n);
    const counted = broker.app.service.telemetry.jsonDeprecated.get('voucher') ?? 0;
    const forwarded = nextVoucherFrame(meter, (frame) => frame.type === 'voucher' && bytesEqual(frame.bytes, bytes));
    const verdict = new Promise<Record<string, unknown>>((resolve) => {
      const onInbox = (box: string, payload: Uint8Array) => {
        if (box !== 'voucher') return;
        car.off('inbox', onInbox);
        resolve(JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>);
      };
      car.on('inbox', onInbox);
    });
    await car.publish('voucher', { v: 3, voucher: toHex(bytes), signature: toHex(sign(bytes, carKeys.secretKey)) });
    expect(await verdict).toMatchObject({ type: 'voucher.accepted', channel: toHex(channelId), seq: seq.toString() });
    await forwarded;
    expect(broker.app.service.telemetry.jsonDeprecated.get('voucher')).toBe(counted + 1);
    // The JSON receipt too, answered (refused here: above the deposit) in JSON on in/receipt.
    const receipt = encodeReceipt({ channelId, seq, total: amountOf(2_000_000n) });
    const refused = nextInbox(meter, 'receipt', (m) => m.type === 'receipt.rejected');
    await meter.publish('receipt', { v: 3, receipt: toHex(receipt), signature: toHex(sign(receipt, meterKeys.secretKey)) });
    expect(await refused).toMatchObject({ error: { code: 'RECEIPT_MISMATCH' } });
    expect(broker.app.service.telemetry.jsonDeprecated.get('receipt')).toBe(1);
  });

  describe('ACL on the binary boxes, exactly as on the JSON ones', () => {
    const forgedAccept = (): Uint8Array => voucherFrame(malloryKeys, new Uint8Array(32), 1n, 1n);

    it.each([
      ["publish to another device's out/voucher-bin", 'mqpay/v1/d/car-1/out/voucher-bin'],
      ["publish to another device's out/receipt-bin", 'mqpay/v1/d/meter-1/out/receipt-bin'],
      ["publish to another device's in/voucher-bin", 'mqpay/v1/d/meter-1/in/voucher-bin'],
      ['publish to its own in/receipt-bin (only the service writes inboxes)', 'mqpay/v1/d/mallory/in/receipt-bin'],
    ])('%s: disconnected, counted, nothing reaches anyone', async (_name, topic) => {
      const client = await deviceClient(broker, 'mallory', malloryKeys);
      const violations = broker.app.service.telemetry.aclViolations;
      const before = ledgerFingerprint(broker.app.db);
      const closed = closedWithin(client);
      client.publish(topic, Buffer.from(forgedAccept()), { qos: 1 });
      expect(await closed).toBe(true);
      expect(broker.app.service.telemetry.aclViolations).toBe(violations + 1);
      client.end(true);
      expectLedgerUnchanged(broker.app.db, before);
      // The car's session is untouched: its next voucher is answered as usual.
      expect(await payNext()).toMatchObject({ type: 'voucher.accepted', seq });
    });

    it("subscribing to another device's in/voucher-bin is refused (SUBACK 0x80); its own is granted", async () => {
      const client: MqttClient = await deviceClient(broker, 'mallory', malloryKeys);
      const granted = async (filter: string): Promise<number[]> => {
        try {
          return (await client.subscribeAsync(filter, { qos: 1 })).map((grant) => grant.qos);
        } catch (error) {
          return (error as { packet: { granted: number[] } }).packet.granted;
        }
      };
      expect(await granted(inboxTopic('car-1', 'voucher-bin'))).toEqual([128]);
      expect(await granted(inboxTopic('meter-1', 'receipt-bin'))).toEqual([128]);
      expect(await granted(inboxTopic('mallory', 'voucher-bin'))).toEqual([1]);
      expect(await granted(outboxTopic('mallory', 'voucher-bin'))).toEqual([128]);
      await client.endAsync();
    });
  });
});

describe('broker: a device over its rate gets a binary rejection on the binary box', () => {
  let broker: RunningBroker;
  afterAll(async () => {
    await broker?.stop();
  });

  it('RATE_LIMITED, naming the voucher, in the frame form it used', async () => {
    broker = await startBroker({ messagesPerSecondPerDevice: 1, messagesBurstPerDevice: 2 });
    const carKeys = broker.enrol('car-1', '10');
    broker.enrol('meter-1', '1');
    const car = await broker.link('car-1', carKeys);
    const channelId = await openChannel(car, 'meter-1', '1'); // takes one token
    const verdicts: VoucherInboxFrame[] = [];
    car.on('inbox', (box: string, payload: Uint8Array) => {
      if (box === 'voucher-bin') verdicts.push(decodeVoucherInboxFrame(payload));
    });
    for (const next of [1n, 2n, 3n]) await car.publishFrame('voucher-bin', voucherFrame(carKeys, channelId, next, next * 100n));
    await expect.poll(() => verdicts.length).toBe(3);
    expect(verdicts).toContainEqual({ type: 'voucher.rejected', code: 'RATE_LIMITED', key: { channelId, seq: 3n } });
  });
});
