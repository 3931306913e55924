// "Bad input gets a clear error and changes nothing" for vouchers and receipts: every hostile or
// broken voucher gets a voucher.rejected reply with a concrete error code, is not forwarded to
// the payee, and leaves the ledger (balances, transfers, channels, vouchers, settlements) exactly
// as it was, with the ledger audit still clean. Real aedes on loopback, real MQTT.js clients,
// real SQLite files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceLink } from '../agent/link/link.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { escrowAccount, walletAccount } from '../broker/store/accounts.js';
import type { Amount } from '../shared/amount.js';
import { sign } from '../shared/crypto.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import type { KeyPair } from '../shared/keys.js';
import { AMOUNT_MICRO_MAX, PAYLOAD_BYTES_MAX } from '../shared/limits.js';
import { encodeReceipt } from '../shared/receipt.js';
import { encodeVoucher, type Voucher } from '../shared/voucher.js';
import {
  countRows, expectAuditClean, expectLedgerUnchanged, flipBit, ledgerFingerprint, malleate, micro, openChannel, publishOutbox, ShiftableClock, signedBytes, voucherInboxFlushed, voucherVerdict,
} from './helpers/broker-adversary.js';
import { nextInbox, payVoucher, random, signedVoucher, startBroker, type RunningBroker } from './helpers/broker-fixture.js';
import { inboxAsJson } from './helpers/inbox-frame-json.js';

type Reply = Record<string, unknown>;
type VoucherMessage = { v: 3; voucher: string; signature: string };

const nowSeconds = (): bigint => BigInt(Math.floor(Date.now() / 1000));

/** A voucher's bytes, for tests that break the binary encoding after a correct encode. */
function voucherBytes(channelId: Uint8Array, seq: bigint, total: bigint, patch: (bytes: Uint8Array) => void = () => undefined): Uint8Array {
  const voucher: Voucher = { channelId, seq, total: total as Amount, expiresAtSeconds: nowSeconds() + 3_600n, memoDigest: null };
  const bytes = encodeVoucher(voucher);
  patch(bytes);
  return bytes;
}

function writeU64(bytes: Uint8Array, offset: number, value: bigint): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setBigUint64(offset, value);
}

// Voucher layout: tag 0..7 | version 8 | channel 9..40 | seq 41..48 | total 49..56 | expires 57..64 | memo flag 65 | digest 66..81
const SEQ_OFFSET = 41;
const MEMO_FLAG_OFFSET = 65;

describe('broker: bad vouchers get a clear error and change nothing', () => {
  let broker: RunningBroker;
  let carKeys: KeyPair;
  let chargerKeys: KeyPair;
  let malloryKeys: KeyPair;
  let car: DeviceLink;
  let charger: DeviceLink;
  let mallory: DeviceLink;
  const forwarded: Reply[] = [];

  beforeAll(async () => {
    broker = await startBroker();
    carKeys = broker.enrol('car-1', '100');
    chargerKeys = broker.enrol('charger-1', '10');
    malloryKeys = broker.enrol('mallory', '10');
    car = await broker.link('car-1', carKeys);
    charger = await broker.link('charger-1', chargerKeys);
    mallory = await broker.link('mallory', malloryKeys);
    charger.on('inbox', (box: string, payload: Uint8Array) => {
      // Forwards are frames on in/voucher-bin since v3 (shown in their v2 JSON shape).
      const message = inboxAsJson('voucher', box, payload) as Reply | null;
      if (message?.type === 'voucher') forwarded.push(message);
    });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  /** Sends a voucher message that must be refused with `code`; proves nothing changed. */
  async function expectRejected(link: DeviceLink, message: object, code: string): Promise<Reply> {
    const before = ledgerFingerprint(broker.app.db);
    const forwardedBefore = forwarded.length;
    const reply = await voucherVerdict(link, message);
    expect(reply).toMatchObject({ v: 3, type: 'voucher.rejected', error: { code } });
    expect(typeof (reply.error as Reply).message).toBe('string');
    // The service publishes a forward before the verdict it belongs to; once a sentinel answer on
    // the payee's in/voucher (issued after that verdict) has arrived, a wrong forward would have too.
    await voucherInboxFlushed(charger, 'charger-1');
    expect(forwarded.length).toBe(forwardedBefore);
    expectLedgerUnchanged(broker.app.db, before);
    return reply;
  }

  /** Publishes raw bytes on out/voucher; they must be refused (reply without channel/seq) with `code`. */
  async function expectRawRejected(link: DeviceLink, device: string, payload: Uint8Array | string, code: string): Promise<Reply> {
    const before = ledgerFingerprint(broker.app.db);
    const reply = nextInbox(link, 'voucher', (m) => m.type === 'voucher.rejected' && m.seq === undefined);
    await publishOutbox(link.client, device, 'voucher', payload);
    const answer = await reply;
    expect(answer).toMatchObject({ v: 3, type: 'voucher.rejected', error: { code } });
    expect(answer.channel).toBeUndefined();
    expectLedgerUnchanged(broker.app.db, before);
    return answer;
  }

  async function expectAccepted(link: DeviceLink, message: VoucherMessage): Promise<Reply> {
    const reply = await payVoucher(link, message);
    expect(reply).toMatchObject({ type: 'voucher.accepted' });
    return reply;
  }

  describe('envelope: size, JSON and schema', () => {
    let channelId: Uint8Array;
    let good: VoucherMessage;
    beforeAll(async () => {
      channelId = await openChannel(car, 'charger-1', '1');
      good = signedVoucher(carKeys, { channelId, seq: 1n, total: micro(1_000n) });
    });

    it.each([
      ['truncated JSON', '{"v":2,"voucher":'],
      ['plain text', 'pay me'],
      ['empty payload', ''],
      ['JSON null', 'null'],
      ['JSON array', '[]'],
      ['JSON string', '"voucher"'],
      ['JSON number', '42'],
    ])('malformed JSON (%s) -> MESSAGE_INVALID', async (_name, payload) => {
      await expectRawRejected(car, 'car-1', payload, 'MESSAGE_INVALID');
    });

    it('bytes that are not UTF-8 -> MESSAGE_INVALID', async () => {
      await expectRawRejected(car, 'car-1', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'MESSAGE_INVALID');
    });

    it('a payload over 4096 bytes -> MESSAGE_TOO_LARGE (even when it is otherwise a valid voucher)', async () => {
      const padded = JSON.stringify({ ...good, pad: 'x'.repeat(PAYLOAD_BYTES_MAX) });
      expect(padded.length).toBeGreaterThan(PAYLOAD_BYTES_MAX);
      await expectRawRejected(car, 'car-1', padded, 'MESSAGE_TOO_LARGE');
      // Exactly at the limit it is parsed (and refused for its shape, not its size).
      const atLimit = JSON.stringify({ ...good, pad: '' });
      const exact = atLimit.replace('"pad":""', `"pad":"${'x'.repeat(PAYLOAD_BYTES_MAX - atLimit.length)}"`);
      expect(exact.length).toBe(PAYLOAD_BYTES_MAX);
      await expectRawRejected(car, 'car-1', exact, 'MESSAGE_INVALID');
    });

    it.each<[string, (good: VoucherMessage) => object]>([
      ['an unknown field', (g) => ({ ...g, total: '1' })],
      ['a missing signature', (g) => ({ v: 3, voucher: g.voucher })],
      ['version 1 (the previous protocol)', (g) => ({ ...g, v: 1 })],
      ['version as a string', (g) => ({ ...g, v: '1' })],
      ['the voucher as a number', (g) => ({ ...g, voucher: 12345 })],
      ['the voucher as an object', (g) => ({ ...g, voucher: { seq: 1 } })],
      ['the signature as null', (g) => ({ ...g, signature: null })],
      ['voucher hex one byte short', (g) => ({ ...g, voucher: g.voucher.slice(0, -2) })],
      ['voucher hex one byte long', (g) => ({ ...g, voucher: `${g.voucher}00` })],
      ['voucher hex of odd length', (g) => ({ ...g, voucher: `${g.voucher}0` })],
      ['upper-case voucher hex', (g) => ({ ...g, voucher: g.voucher.toUpperCase() })],
      ['non-hex characters', (g) => ({ ...g, voucher: `zz${g.voucher.slice(2)}` })],
      ['signature hex one byte short', (g) => ({ ...g, signature: g.signature.slice(0, -2) })],
      ['signature hex one byte long', (g) => ({ ...g, signature: `${g.signature}00` })],
    ])('%s -> MESSAGE_INVALID', async (_name, build) => {
      await expectRejected(car, build(good), 'MESSAGE_INVALID');
    });

    it('after all that, the untouched voucher is still accepted', async () => {
      await expectAccepted(car, good);
      expectAuditClean(broker.app.db);
    });
  });

  describe('binary encoding (correctly signed, but malformed bytes)', () => {
    let channelId: Uint8Array;
    beforeAll(async () => {
      channelId = await openChannel(car, 'charger-1', '1');
    });

    it.each<[string, (bytes: Uint8Array) => void]>([
      ['a wrong domain tag', (b) => { b.set(new TextEncoder().encode('MQPAY-RC'), 0); }],
      ['version 2', (b) => { b[8] = 2; }],
      ['seq 0', (b) => writeU64(b, SEQ_OFFSET, 0n)],
      ['seq 2^63 (beyond i64)', (b) => writeU64(b, SEQ_OFFSET, 1n << 63n)],
      ['memo flag 2', (b) => { b[MEMO_FLAG_OFFSET] = 2; }],
      ['a memo digest without the memo flag', (b) => { b[MEMO_FLAG_OFFSET + 1] = 1; }],
    ])('%s -> ENCODING_INVALID', async (_name, patch) => {
      await expectRejected(car, signedBytes(carKeys, voucherBytes(channelId, 1n, 10n, patch)), 'ENCODING_INVALID');
    });
  });

  describe('channel rules', () => {
    it('a voucher for an unknown channel -> CHANNEL_UNKNOWN', async () => {
      const reply = await expectRejected(car, signedVoucher(carKeys, { channelId: newChannelId(random), seq: 1n, total: micro(1n) }), 'CHANNEL_UNKNOWN');
      expect(reply.seq).toBe('1');
    });

    it("a voucher for another payer's channel -> CHANNEL_NOT_PAYER, whoever signed it", async () => {
      const channelId = await openChannel(car, 'charger-1', '1');
      // Mallory signs a voucher of her own on the car's channel.
      await expectRejected(mallory, signedVoucher(malloryKeys, { channelId, seq: 1n, total: micro(5n) }), 'CHANNEL_NOT_PAYER');
      // The payee replays a voucher the car really signed, as if the car had sent it.
      const real = signedVoucher(carKeys, { channelId, seq: 1n, total: micro(7n) });
      await expectRejected(charger, real, 'CHANNEL_NOT_PAYER');
      await expectRejected(mallory, real, 'CHANNEL_NOT_PAYER');
      // Nothing was consumed: the car's own voucher with that seq is accepted.
      await expectAccepted(car, real);
      expect(getChannel(broker.app.db, channelId)?.latestTotal).toBe(7n);
    });

    it('a voucher for a closed channel -> CHANNEL_CLOSED; a re-send of the last accepted one still gets accepted', async () => {
      const channelId = await openChannel(car, 'charger-1', '1');
      const last = signedVoucher(carKeys, { channelId, seq: 1n, total: micro(100n) });
      const first = await expectAccepted(car, last);
      // The payer's close opens the dispute window: its new vouchers are refused from then on.
      const closing = await car.request('channel.close', { channel: toHex(channelId) });
      expect(closing).toMatchObject({ channel: { state: 'closing' } });
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 2n, total: micro(200n) }), 'CHANNEL_CLOSING');
      // The payee's close settles at once.
      const closed = await charger.request('channel.close', { channel: toHex(channelId) });
      expect(closed).toMatchObject({ settled: '0.0001', refunded: '0.9999' });
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 2n, total: micro(200n) }), 'CHANNEL_CLOSED');
      const before = ledgerFingerprint(broker.app.db);
      expect(await payVoucher(car, last)).toEqual(first);
      expectLedgerUnchanged(broker.app.db, before);
      expect(balanceOf(broker.app.db, escrowAccount(channelId))).toBe(0n);
    });

    it('an expired voucher -> VOUCHER_EXPIRED', async () => {
      const channelId = await openChannel(car, 'charger-1', '1');
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 1n, total: micro(5n), expiresAtSeconds: nowSeconds() - 1n }), 'VOUCHER_EXPIRED');
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 1n, total: micro(5n), expiresAtSeconds: 0n }), 'VOUCHER_EXPIRED');
    });
  });

  describe('seq and total rules', () => {
    let channelId: Uint8Array;
    beforeAll(async () => {
      channelId = await openChannel(car, 'charger-1', '1'); // deposit 1_000_000 micro
      await expectAccepted(car, signedVoucher(carKeys, { channelId, seq: 1n, total: micro(100n) }));
      await expectAccepted(car, signedVoucher(carKeys, { channelId, seq: 5n, total: micro(500n) }));
    });

    it('a seq below the latest that was never accepted -> VOUCHER_SEQ_NOT_INCREASING', async () => {
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 3n, total: micro(300n) }), 'VOUCHER_SEQ_NOT_INCREASING');
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 4n, total: micro(900n) }), 'VOUCHER_SEQ_NOT_INCREASING');
    });

    it('a higher seq whose total does not increase -> VOUCHER_TOTAL_NOT_INCREASING', async () => {
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 6n, total: micro(500n) }), 'VOUCHER_TOTAL_NOT_INCREASING');
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 7n, total: micro(499n) }), 'VOUCHER_TOTAL_NOT_INCREASING');
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 8n, total: micro(0n) }), 'VOUCHER_TOTAL_NOT_INCREASING');
    });

    it('a total above the deposit -> VOUCHER_ABOVE_DEPOSIT; exactly the deposit is fine', async () => {
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 6n, total: micro(1_000_001n) }), 'VOUCHER_ABOVE_DEPOSIT');
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 6n, total: micro(AMOUNT_MICRO_MAX) }), 'VOUCHER_ABOVE_DEPOSIT');
      await expectAccepted(car, signedVoucher(carKeys, { channelId, seq: 6n, total: micro(1_000_000n) }));
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 7n, total: micro(1_000_001n) }), 'VOUCHER_ABOVE_DEPOSIT');
      expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: 6n, latestTotal: 1_000_000n });
      expectAuditClean(broker.app.db);
    });
  });

  describe('signatures', () => {
    let channelId: Uint8Array;
    beforeAll(async () => {
      channelId = await openChannel(car, 'charger-1', '1');
    });

    it('a flipped signature bit, a flipped voucher bit, a zero signature, another key -> SIGNATURE_INVALID', async () => {
      const good = signedVoucher(carKeys, { channelId, seq: 1n, total: micro(10n) });
      await expectRejected(car, { ...good, signature: flipBit(good.signature, 0) }, 'SIGNATURE_INVALID');
      await expectRejected(car, { ...good, signature: flipBit(good.signature, 40) }, 'SIGNATURE_INVALID');
      await expectRejected(car, { ...good, voucher: flipBit(good.voucher, 55) }, 'SIGNATURE_INVALID'); // the total's last byte
      await expectRejected(car, { ...good, signature: '0'.repeat(128) }, 'SIGNATURE_INVALID');
      await expectRejected(car, signedVoucher(chargerKeys, { channelId, seq: 1n, total: micro(10n) }), 'SIGNATURE_INVALID');
      await expectRejected(car, signedVoucher(malloryKeys, { channelId, seq: 1n, total: micro(10n) }), 'SIGNATURE_INVALID');
      // None of them took seq 1: the real one is accepted.
      await expectAccepted(car, good);
    });

    it('a non-canonical signature (S + L) -> SIGNATURE_INVALID on a new voucher, on a re-send of the latest and on an older one', async () => {
      const second = signedVoucher(carKeys, { channelId, seq: 2n, total: micro(20n) });
      const third = signedVoucher(carKeys, { channelId, seq: 3n, total: micro(30n) });
      await expectRejected(car, { ...second, signature: malleate(second.signature) }, 'SIGNATURE_INVALID');
      await expectAccepted(car, second);
      await expectAccepted(car, third);
      // The latest voucher again, same bytes, malleated signature: must not replace the stored one.
      const stored = getChannel(broker.app.db, channelId)?.latestSignature;
      await expectRejected(car, { ...third, signature: malleate(third.signature) }, 'SIGNATURE_INVALID');
      await expectRejected(car, { ...second, signature: malleate(second.signature) }, 'SIGNATURE_INVALID');
      expect(getChannel(broker.app.db, channelId)?.latestSignature).toEqual(stored);
    });
  });

  describe('double-signing and re-sends', () => {
    let channelId: Uint8Array;
    let firstReply: Reply;
    let secondReply: Reply;
    const first = (): VoucherMessage => signedVoucher(carKeys, { channelId, seq: 1n, total: micro(100n), expiresAtSeconds: 4_000_000_000n });
    const second = (): VoucherMessage => signedVoucher(carKeys, { channelId, seq: 2n, total: micro(200n), expiresAtSeconds: 4_000_000_000n });
    beforeAll(async () => {
      channelId = await openChannel(car, 'charger-1', '1');
      firstReply = await expectAccepted(car, first());
      secondReply = await expectAccepted(car, second());
    });
    // Only this describe produces double-sign evidence in this broker.
    const evidence = (): number => countRows(broker.app.db, 'double_signs');

    it('the same seq as the latest with another total -> VOUCHER_DOUBLE_SIGNED, recorded as evidence', async () => {
      const conflicting = signedVoucher(carKeys, { channelId, seq: 2n, total: micro(250n) });
      await expectRejected(car, conflicting, 'VOUCHER_DOUBLE_SIGNED');
      expect(evidence()).toBe(1);
      const rows = broker.app.db.prepare('SELECT seq, accepted_total, conflicting_total FROM double_signs').all();
      expect(rows).toEqual([{ seq: 2n, accepted_total: 200n, conflicting_total: 250n }]);
      // The same evidence again: same answer, no second row.
      await expectRejected(car, conflicting, 'VOUCHER_DOUBLE_SIGNED');
      expect(evidence()).toBe(1);
    });

    it('an older seq with another total -> VOUCHER_DOUBLE_SIGNED, recorded as evidence', async () => {
      await expectRejected(car, signedVoucher(carKeys, { channelId, seq: 1n, total: micro(150n) }), 'VOUCHER_DOUBLE_SIGNED');
      expect(evidence()).toBe(2);
    });

    it('a conflicting voucher with a bad signature is not evidence (nobody can frame the payer)', async () => {
      await expectRejected(car, signedVoucher(malloryKeys, { channelId, seq: 2n, total: micro(260n) }), 'SIGNATURE_INVALID');
      await expectRejected(car, signedVoucher(malloryKeys, { channelId, seq: 1n, total: micro(160n) }), 'SIGNATURE_INVALID');
      const conflicting = signedVoucher(carKeys, { channelId, seq: 2n, total: micro(270n) });
      await expectRejected(car, { ...conflicting, signature: malleate(conflicting.signature) }, 'SIGNATURE_INVALID');
      expect(evidence()).toBe(2);
    });

    it('a re-sent latest voucher gets the same accepted answer and changes nothing', async () => {
      const before = ledgerFingerprint(broker.app.db);
      const again = await payVoucher(car, second());
      expect(again).toEqual(secondReply);
      expect(again).toMatchObject({ type: 'voucher.accepted', seq: '2', total: '0.0002' });
      expectLedgerUnchanged(broker.app.db, before);
    });

    it('a re-sent older voucher (seq below the latest) also gets accepted and changes nothing', async () => {
      const before = ledgerFingerprint(broker.app.db);
      const again = await payVoucher(car, first());
      expect(again).toEqual(firstReply);
      expect(again).toMatchObject({ type: 'voucher.accepted', seq: '1', total: '0.0001' });
      expectLedgerUnchanged(broker.app.db, before);
      expect(getChannel(broker.app.db, channelId)).toMatchObject({ latestSeq: 2n, latestTotal: 200n });
    });
  });

  describe('receipts', () => {
    let channelId: Uint8Array;
    const receiptOf = (keys: KeyPair, seq: bigint, total: bigint, channel = channelId) => {
      const bytes = encodeReceipt({ channelId: channel, seq, total: total as Amount });
      return { v: 3, receipt: toHex(bytes), signature: toHex(sign(bytes, keys.secretKey)) };
    };
    const receipts = (): number => countRows(broker.app.db, 'receipts');
    beforeAll(async () => {
      channelId = await openChannel(car, 'charger-1', '1');
      await expectAccepted(car, signedVoucher(carKeys, { channelId, seq: 1n, total: micro(100n) }));
    });

    async function expectReceiptRejected(link: DeviceLink, device: string, message: object | string, code: string): Promise<void> {
      const before = ledgerFingerprint(broker.app.db);
      const receiptsBefore = receipts();
      const forwardedToCar = nextInbox(car, 'receipt', (m) => m.type === 'receipt', 100).then(() => true, () => false);
      const reply = nextInbox(link, 'receipt', (m) => m.type === 'receipt.rejected');
      await publishOutbox(link.client, device, 'receipt', message);
      expect(await reply).toMatchObject({ v: 3, type: 'receipt.rejected', error: { code } });
      expect(await forwardedToCar).toBe(false);
      expect(receipts()).toBe(receiptsBefore);
      expectLedgerUnchanged(broker.app.db, before);
    }

    it('a receipt with a bad signature -> receipt.rejected SIGNATURE_INVALID', async () => {
      const good = receiptOf(chargerKeys, 1n, 100n);
      await expectReceiptRejected(charger, 'charger-1', { ...good, signature: flipBit(good.signature, 3) }, 'SIGNATURE_INVALID');
      await expectReceiptRejected(charger, 'charger-1', { ...good, signature: malleate(good.signature) }, 'SIGNATURE_INVALID');
      await expectReceiptRejected(charger, 'charger-1', receiptOf(malloryKeys, 1n, 100n), 'SIGNATURE_INVALID');
    });

    it('a receipt from someone who is not the payee -> receipt.rejected NOT_AUTHORIZED', async () => {
      await expectReceiptRejected(car, 'car-1', receiptOf(carKeys, 1n, 100n), 'NOT_AUTHORIZED');
      await expectReceiptRejected(mallory, 'mallory', receiptOf(malloryKeys, 1n, 100n), 'NOT_AUTHORIZED');
      // Even carrying the payee's real signature, it is not the payee sending it.
      await expectReceiptRejected(mallory, 'mallory', receiptOf(chargerKeys, 1n, 100n), 'NOT_AUTHORIZED');
    });

    it('a receipt for an unknown channel, above the deposit, or malformed is rejected with its code', async () => {
      await expectReceiptRejected(charger, 'charger-1', receiptOf(chargerKeys, 1n, 100n, newChannelId(random)), 'CHANNEL_UNKNOWN');
      await expectReceiptRejected(charger, 'charger-1', receiptOf(chargerKeys, 2n, 1_000_001n), 'RECEIPT_MISMATCH');
      await expectReceiptRejected(charger, 'charger-1', '{"v":2,', 'MESSAGE_INVALID');
      await expectReceiptRejected(charger, 'charger-1', { ...receiptOf(chargerKeys, 1n, 100n), extra: true }, 'MESSAGE_INVALID');
    });

    it('the payee’s real receipt is stored and forwarded to the payer (control)', async () => {
      const receiptsBefore = receipts();
      const forwardedToCar = nextInbox(car, 'receipt', (m) => m.type === 'receipt');
      await publishOutbox(charger.client, 'charger-1', 'receipt', receiptOf(chargerKeys, 1n, 100n));
      expect(await forwardedToCar).toMatchObject({ type: 'receipt', payee: 'charger-1' });
      expect(receipts()).toBe(receiptsBefore + 1);
    });
  });

  it('the wallets never moved: vouchers alone do not touch balances, and the audit is clean', () => {
    // car-1 was funded 100 and the closed channel refunded all but 0.0001 to it.
    const escrowed = (broker.app.db.prepare("SELECT COALESCE(SUM(balance), 0) AS n FROM accounts WHERE kind = 'escrow'").get() as { n: bigint }).n;
    expect((balanceOf(broker.app.db, walletAccount('car-1')) ?? 0n) + escrowed).toBe(100_000_000n - 100n);
    expect(balanceOf(broker.app.db, walletAccount('charger-1'))).toBe(10_000_000n + 100n);
    expect(balanceOf(broker.app.db, walletAccount('mallory'))).toBe(10_000_000n);
    expectAuditClean(broker.app.db);
  });
});

describe('broker: expired channels (injected clock)', () => {
  const clock = new ShiftableClock();
  let broker: RunningBroker;
  let carKeys: KeyPair;
  let car: DeviceLink;
  beforeAll(async () => {
    broker = await startBroker({}, undefined, { clock });
    carKeys = broker.enrol('car-1', '10');
    broker.enrol('charger-1');
    car = await broker.link('car-1', carKeys);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('a voucher for an expired channel -> CHANNEL_EXPIRED; the service clock, not the device, decides expiry', async () => {
    const channelId = await openChannel(car, 'charger-1', '1', 60);
    const far = clock.nowSeconds() + 86_400n;
    const first = signedVoucher(carKeys, { channelId, seq: 1n, total: micro(100n), expiresAtSeconds: far });
    const accepted = await payVoucher(car, first);
    expect(accepted).toMatchObject({ type: 'voucher.accepted' });

    clock.advance(61_000);
    let before = ledgerFingerprint(broker.app.db);
    expect(await payVoucher(car, signedVoucher(carKeys, { channelId, seq: 2n, total: micro(200n), expiresAtSeconds: far }))).toMatchObject({
      type: 'voucher.rejected', error: { code: 'CHANNEL_EXPIRED' },
    });
    expectLedgerUnchanged(broker.app.db, before);
    // A re-send of the last accepted voucher keeps its answer.
    expect(await payVoucher(car, first)).toEqual(accepted);
    expectLedgerUnchanged(broker.app.db, before);
    // Topping up an expired channel is refused too.
    await expect(car.request('channel.topup', { channel: toHex(channelId), amount: '1' })).rejects.toMatchObject({ code: 'CHANNEL_EXPIRED' });
    expectLedgerUnchanged(broker.app.db, before);

    // A voucher still valid by the device's (real) clock but expired by the service's clock.
    const fresh = await openChannel(car, 'charger-1', '1', 3_600);
    before = ledgerFingerprint(broker.app.db);
    const stale = signedVoucher(carKeys, { channelId: fresh, seq: 1n, total: micro(1n), expiresAtSeconds: nowSeconds() + 30n });
    expect(await payVoucher(car, stale)).toMatchObject({ type: 'voucher.rejected', error: { code: 'VOUCHER_EXPIRED' } });
    expectLedgerUnchanged(broker.app.db, before);

    // The epoch opens the expired channel's dispute window; once the window passed, the next
    // epoch settles what was owed and refunds the rest [docs/DESIGN.md rule 11].
    await broker.app.service.tick();
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ state: 'closing', closeRequestedBy: 'expiry' });
    clock.advance(broker.app.config.closeWindowSeconds * 1000);
    await broker.app.service.tick();
    expect(getChannel(broker.app.db, channelId)).toMatchObject({ state: 'closed', settledTotal: 100n });
    expect(balanceOf(broker.app.db, walletAccount('charger-1'))).toBe(100n);
    expect(balanceOf(broker.app.db, escrowAccount(channelId))).toBe(0n);
    before = ledgerFingerprint(broker.app.db);
    expect(await payVoucher(car, signedVoucher(carKeys, { channelId, seq: 2n, total: micro(200n), expiresAtSeconds: far }))).toMatchObject({
      type: 'voucher.rejected', error: { code: 'CHANNEL_CLOSED' },
    });
    expectLedgerUnchanged(broker.app.db, before);
  });
});
