// Writes the language-neutral golden vectors of test/vectors/protocol/ from the shared code:
//   npx esbuild scripts/protocol-vectors.ts --bundle --platform=node --format=esm --outfile=/tmp/vectors.mjs && node /tmp/vectors.mjs
// The files are committed; test/protocol-vectors.test.ts checks the code against them, so a
// change that alters the wire fails there first. Regenerate only for a deliberate version step.
import { writeFileSync } from 'node:fs';
import { parseAmount } from '../shared/amount.js';
import { encodeCertificate, type ChannelCertificate } from '../shared/certificate.js';
import { encodeCheckpoint, type Checkpoint } from '../shared/checkpoint.js';
import { HashChain } from '../shared/hash-chain.js';
import { HASH_CHAIN_LENGTH_MAX, TICK_SKIP_MAX } from '../shared/limits.js';
import { encodeTick, type Tick } from '../shared/tick.js';
import { encodeTickVerdict, type TickVerdict } from '../shared/tick-verdict.js';
import { encodeConnectToken, type ConnectToken } from '../shared/connect-token.js';
import { backends, sign } from '../shared/crypto.js';
import { ERRORS } from '../shared/errors.js';
import { encodeKeyRotation, type KeyRotation } from '../shared/key-rotation.js';
import { toHex } from '../shared/hex.js';
import { PAYLOAD_BYTES_MAX } from '../shared/limits.js';
import { encodeOffer, offerDigestOf, type Offer } from '../shared/offer.js';
import { encodeReceipt, type Receipt } from '../shared/receipt.js';
import { PROTOCOL_VERSION } from '../shared/schemas.js';
import { encodeVoucher, memoDigestOf, type Voucher } from '../shared/voucher.js';
import { describeSchemas, toNeutral } from '../test/helpers/protocol-vectors.js';
import { frameCodec } from '../test/helpers/frame-codecs.js';
import { ERROR_CODE_TABLE } from '../shared/error-index.js';
import { encodeReceiptForward, encodeReceiptRejected, encodeVoucherAccepted, encodeVoucherForward, encodeVoucherRejected } from '../shared/inbox-frames.js';
import { encodeReceiptFrame, encodeVoucherFrame } from '../shared/signed-frames.js';

const range = (start: number, length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);
const SIGNER_SEED = range(0x01, 32);
const PAYEE_SEED = range(0x21, 32);
const SIGNER_KEY = backends.native.publicKeyOf(SIGNER_SEED);
const PAYEE_KEY = backends.native.publicKeyOf(PAYEE_SEED);
const CHANNEL = range(0xa0, 32);

// ---- binary encodings (the same inputs as test/shared-encodings.test.ts) ----
// v2: the memo digest is salted; the salt is given beside the memo so a reader can recompute it.
const MEMO_SALT = range(0x40, 16);
const voucher: Voucher = { channelId: CHANNEL, seq: 42n, total: parseAmount('12.345678'), expiresAtSeconds: 1_767_225_600n, memoDigest: memoDigestOf('coffee, 2 cups', MEMO_SALT) };
const voucherNoMemo: Voucher = { ...voucher, seq: 43n, memoDigest: null };
const receipt: Receipt = { channelId: CHANNEL, seq: 42n, total: parseAmount('12.345678') };
const certificate: ChannelCertificate = { channelId: CHANNEL, payer: 'ev.car-7', payerKey: SIGNER_KEY, payee: 'charger_2', payeeKey: PAYEE_KEY, deposit: parseAmount('50'), currency: 'EUR', expiresAtSeconds: 1_767_225_600n, revision: 3 };
// v3: the payee-signed offer (signed here by the signer seed, standing for the seller's key).
const offer: Offer = { seller: 'charger_2', currency: 'EUR', unit: 'kWh', price: parseAmount('0.25'), issuedAtMs: 1_767_225_600_123n, expiresAtSeconds: 1_767_312_000n };
const token: ConnectToken = { device: 'ev.car-7', broker: 'mqpay-eu-1', timeMs: 1_767_225_600_123n, nonce: range(0x10, 16) };
// v3: a key rotation from the signer's key to the payee pair's (standing in for the new key),
// signed by both: `signature` by the current key, `newSignature` by the new one.
const rotation: KeyRotation = { device: 'ev.car-7', currentKey: SIGNER_KEY, newKey: PAYEE_KEY, timeMs: 1_767_225_600_123n };
const rBytes = encodeKeyRotation(rotation);
// v3: a hash chain of 8 links from a fixed seed, the checkpoint committing to its root (2.5 paid,
// 0.01 per tick), and ticks revealing its links.
const CHAIN_SEED = range(0x60, 32);
const chain = new HashChain(CHAIN_SEED, 8);
const checkpoint: Checkpoint = { channelId: CHANNEL, seq: 44n, total: parseAmount('2.5'), expiresAtSeconds: 1_767_225_600n, chainRoot: chain.root, chainLength: 8, pricePerTick: parseAmount('0.01') };
const hcBytes = encodeCheckpoint(checkpoint);
const tickAt = (index: number): Tick => ({ channelId: CHANNEL, checkpointSeq: 44n, index, preimage: chain.link(index) });
const tBytes = encodeTick(tickAt(1));

const valid = (kind: string, name: string, fields: object, bytes: Uint8Array, extra: object = {}) => ({
  kind, name, fields: toNeutral(fields), ...extra, bytes: toHex(bytes), signer: 'signer', signature: toHex(sign(bytes, SIGNER_SEED)),
});
const flip = (bytes: Uint8Array, at: number, value: number): string => {
  const copy = bytes.slice();
  copy[at] = value;
  return toHex(copy);
};
const vBytes = encodeVoucher(voucher);
// v3: the certificate's layout version 2 carries the ledger currency at byte 179 (3 ASCII A-Z).
const cBytes = encodeCertificate(certificate);
const CERTIFICATE_CURRENCY_AT = 179;
const certificateV1 = new Uint8Array([...cBytes.subarray(0, CERTIFICATE_CURRENCY_AT), ...cBytes.subarray(CERTIFICATE_CURRENCY_AT + 3)]);
certificateV1[8] = 1;
const oBytes = encodeOffer(offer);
/** The offer with bytes [at, at + values.length) replaced. */
const patch = (bytes: Uint8Array, at: number, values: readonly number[]): string => {
  const copy = bytes.slice();
  copy.set(values, at);
  return toHex(copy);
};
const encodings = {
  description: 'mqpay signed binary encodings (docs/PROTOCOL.md): vouchers, receipts and connect tokens in layout version 1, channel certificates in layout version 2 (with the ledger currency). Hex is lower-case; integers are decimal strings ({"$bigint": "..."}); amounts are micro-units. Signatures are RFC 8032 ed25519 by the key whose 32-byte seed is given (deterministic). "invalid" entries must be refused by the decoder with the error code given.',
  keys: { signer: { seed: toHex(SIGNER_SEED), publicKey: toHex(SIGNER_KEY) }, payee: { seed: toHex(PAYEE_SEED), publicKey: toHex(PAYEE_KEY) } },
  valid: [
    valid('voucher', 'voucher with a salted memo digest', voucher, vBytes, { memo: 'coffee, 2 cups', memoSalt: toHex(MEMO_SALT) }),
    valid('voucher', 'voucher without a memo', voucherNoMemo, encodeVoucher(voucherNoMemo)),
    valid('receipt', 'receipt', receipt, encodeReceipt(receipt)),
    valid('certificate', 'channel certificate (layout version 2, in EUR), revision 3', certificate, cBytes),
    valid('connectToken', 'connect token', token, encodeConnectToken(token)),
    valid('offer', 'offer, 0.25 EUR per kWh', offer, oBytes, { digest: toHex(offerDigestOf(oBytes)) }),
    valid('keyRotation', 'key rotation (v3)', rotation, rBytes, { newSigner: 'payee', newSignature: toHex(sign(rBytes, PAYEE_SEED)) }),
    valid('checkpoint', 'hash-chain checkpoint, 8 ticks of 0.01 after 2.5 (v3)', checkpoint, hcBytes),
  ],
  invalid: [
    { kind: 'voucher', name: 'one byte short', bytes: toHex(vBytes.subarray(0, vBytes.length - 1)), error: 'ENCODING_INVALID' },
    { kind: 'voucher', name: 'a trailing byte', bytes: `${toHex(vBytes)}00`, error: 'ENCODING_INVALID' },
    { kind: 'voucher', name: 'receipt tag on voucher bytes', bytes: flip(vBytes, 6, 0x52), error: 'ENCODING_INVALID' },
    { kind: 'voucher', name: 'layout version 2', bytes: flip(vBytes, 8, 2), error: 'ENCODING_INVALID' },
    { kind: 'voucher', name: 'seq 0', bytes: toHex(new Uint8Array([...vBytes.subarray(0, 41), 0, 0, 0, 0, 0, 0, 0, 0, ...vBytes.subarray(49)])), error: 'ENCODING_INVALID' },
    { kind: 'voucher', name: 'memo flag 2', bytes: flip(vBytes, 65, 2), error: 'ENCODING_INVALID' },
    { kind: 'voucher', name: 'memo flag 0 with a non-zero digest', bytes: flip(vBytes, 65, 0), error: 'ENCODING_INVALID' },
    { kind: 'certificate', name: 'layout version 1 (191 bytes, no currency)', bytes: toHex(certificateV1), error: 'ENCODING_INVALID' },
    { kind: 'certificate', name: 'layout version 1 byte on version 2 bytes', bytes: flip(cBytes, 8, 1), error: 'ENCODING_INVALID' },
    { kind: 'certificate', name: 'currency in lower case (eUR)', bytes: flip(cBytes, CERTIFICATE_CURRENCY_AT, 0x65), error: 'CURRENCY_INVALID' },
    { kind: 'certificate', name: 'currency with a zero byte', bytes: flip(cBytes, CERTIFICATE_CURRENCY_AT + 2, 0), error: 'CURRENCY_INVALID' },
    // Offer layout: tag 0-7, version 8, seller 9-41, currency 42-44, unit 45-61, price 62-69, issued 70-77, expires 78-85.
    { kind: 'offer', name: 'one byte short', bytes: toHex(oBytes.subarray(0, oBytes.length - 1)), error: 'ENCODING_INVALID' },
    { kind: 'offer', name: 'a trailing byte', bytes: `${toHex(oBytes)}00`, error: 'ENCODING_INVALID' },
    { kind: 'offer', name: 'voucher tag on offer bytes', bytes: patch(oBytes, 6, [0x56, 0x43]), error: 'ENCODING_INVALID' },
    { kind: 'offer', name: 'layout version 2', bytes: flip(oBytes, 8, 2), error: 'ENCODING_INVALID' },
    { kind: 'offer', name: 'lower-case currency', bytes: flip(oBytes, 42, 0x65), error: 'ENCODING_INVALID' },
    { kind: 'offer', name: 'unit with a blank', bytes: flip(oBytes, 47, 0x20), error: 'ENCODING_INVALID' },
    { kind: 'offer', name: 'empty unit', bytes: patch(oBytes, 45, [0, 0, 0, 0]), error: 'ENCODING_INVALID' },
    { kind: 'offer', name: 'non-zero padding after the unit', bytes: flip(oBytes, 61, 0x41), error: 'ENCODING_INVALID' },
    { kind: 'offer', name: 'price zero', bytes: patch(oBytes, 62, [0, 0, 0, 0, 0, 0, 0, 0]), error: 'ENCODING_INVALID' },
    { kind: 'offer', name: 'expires before it is issued', bytes: patch(oBytes, 78, [0, 0, 0, 0, 0, 0, 0, 1]), error: 'ENCODING_INVALID' },
    { kind: 'keyRotation', name: 'one byte short', bytes: toHex(rBytes.subarray(0, rBytes.length - 1)), error: 'ENCODING_INVALID' },
    { kind: 'keyRotation', name: 'connect token tag on rotation bytes', bytes: flip(rBytes, 7, 0x54), error: 'ENCODING_INVALID' },
    // Checkpoint layout: tag 0-7, version 8, channel 9-40, seq 41-48, total 49-56, expires 57-64, root 65-96, length 97-100, price 101-108.
    { kind: 'checkpoint', name: 'one byte short', bytes: toHex(hcBytes.subarray(0, hcBytes.length - 1)), error: 'ENCODING_INVALID' },
    { kind: 'checkpoint', name: 'voucher tag on checkpoint bytes', bytes: patch(hcBytes, 6, [0x56, 0x43]), error: 'ENCODING_INVALID' },
    { kind: 'checkpoint', name: 'chain length 0', bytes: patch(hcBytes, 97, [0, 0, 0, 0]), error: 'ENCODING_INVALID' },
    { kind: 'checkpoint', name: 'chain length above the maximum', bytes: patch(hcBytes, 97, [0, 0x10, 0, 1]), error: 'ENCODING_INVALID' },
    { kind: 'checkpoint', name: 'price per tick 0', bytes: patch(hcBytes, 101, [0, 0, 0, 0, 0, 0, 0, 0]), error: 'ENCODING_INVALID' },
    { kind: 'checkpoint', name: 'total + length x price past u64', bytes: patch(hcBytes, 49, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), error: 'ENCODING_INVALID' },
    { kind: 'keyRotation', name: 'non-zero padding after the device id', bytes: flip(rBytes, 9 + 1 + 31, 0x41), error: 'ENCODING_INVALID' },
  ],
};

// ---- hash-chain ticks (v3): the chain, the tick frames, and what a checker decides ----
const tickFlip = (at: number, value: number): string => flip(tBytes, at, value);
const verdictAccepted: TickVerdict = { channelId: CHANNEL, checkpointSeq: 44n, index: 5, total: parseAmount('2.55'), code: null };
const verdictRefused: TickVerdict = { channelId: CHANNEL, checkpointSeq: 44n, index: 6, total: parseAmount('0'), code: 'TICK_ABOVE_DEPOSIT' };
const verdictUndecoded: TickVerdict = { channelId: new Uint8Array(32), checkpointSeq: 0n, index: 0, total: parseAmount('0'), code: 'ENCODING_INVALID' };
const tvAccepted = encodeTickVerdict(verdictAccepted);
const tvRefused = encodeTickVerdict(verdictRefused);
const u16Of = (value: number): number[] => [value >> 8, value & 0xff];
const hashChain = {
  description: `mqpay hash-chain ticks (protocol v3, docs/PROTOCOL.md, section Ticks). links[i] is h_i: links[8] is the seed, links[i-1] = SHA-256(links[i]), links[0] the root the checkpoint (encodings.json, seq 44) signs. Tick frames are not signed. "checks" run in order against one channel state (deposit given): each accepted tick becomes the last accepted link; a refused one leaves the state as it was. At most ${TICK_SKIP_MAX} hashes per check; chain length at most ${HASH_CHAIN_LENGTH_MAX}. "verdicts" are tick verdict frames (in/tick, "MQPAY-TV", kind 1 accepted 62 bytes, kind 2 refused 56 bytes carrying the u16 error index of the frozen table in frames.json); "verdictsInvalid" are refused by a strict decoder.`,
  seed: toHex(CHAIN_SEED),
  links: Array.from({ length: 9 }, (_, i) => toHex(chain.link(i))),
  checkpoint: { fields: toNeutral(checkpoint), bytes: toHex(hcBytes), signer: 'signer', signature: toHex(sign(hcBytes, SIGNER_SEED)) },
  deposit: { $bigint: parseAmount('2.55').toString() },
  ticks: [
    { name: 'tick 1', fields: toNeutral(tickAt(1)), bytes: toHex(tBytes) },
    { name: 'tick 3', fields: toNeutral(tickAt(3)), bytes: toHex(encodeTick(tickAt(3))) },
  ],
  checks: [
    { name: 'tick 1: one hash to the root', bytes: toHex(tBytes), accepted: true, total: { $bigint: parseAmount('2.51').toString() } },
    { name: 'tick 1 again: replayed index', bytes: toHex(tBytes), error: 'TICK_INDEX_INVALID' },
    { name: 'tick 2 with the preimage of tick 3', bytes: toHex(encodeTick({ ...tickAt(2), preimage: chain.link(3) })), error: 'TICK_PREIMAGE_INVALID' },
    { name: 'tick 2 of another checkpoint seq', bytes: toHex(encodeTick({ ...tickAt(2), checkpointSeq: 45n })), error: 'TICK_CHECKPOINT_UNKNOWN' },
    { name: 'tick 3: skips tick 2, two hashes', bytes: toHex(encodeTick(tickAt(3))), accepted: true, total: { $bigint: parseAmount('2.53').toString() } },
    { name: 'tick 6: 2.56 is past the deposit of 2.55', bytes: toHex(encodeTick(tickAt(6))), error: 'TICK_ABOVE_DEPOSIT' },
    { name: 'tick 5: three hashes to tick 3', bytes: toHex(encodeTick(tickAt(5))), accepted: true, total: { $bigint: parseAmount('2.55').toString() } },
  ],
  invalid: [
    { name: 'one byte short', bytes: toHex(tBytes.subarray(0, tBytes.length - 1)), error: 'ENCODING_INVALID' },
    { name: 'a trailing byte', bytes: `${toHex(tBytes)}00`, error: 'ENCODING_INVALID' },
    { name: 'checkpoint tag on tick bytes', bytes: patch(tBytes, 6, [0x48, 0x43]), error: 'ENCODING_INVALID' },
    { name: 'layout version 2', bytes: tickFlip(8, 2), error: 'ENCODING_INVALID' },
    { name: 'index 0', bytes: patch(tBytes, 49, [0, 0, 0, 0]), error: 'ENCODING_INVALID' },
    { name: 'checkpoint seq 0', bytes: patch(tBytes, 41, [0, 0, 0, 0, 0, 0, 0, 0]), error: 'ENCODING_INVALID' },
  ],
  verdicts: [
    { name: 'tick 5 accepted: total 2.55 (kind 1)', fields: toNeutral(verdictAccepted), bytes: toHex(tvAccepted) },
    { name: 'tick 6 refused: TICK_ABOVE_DEPOSIT, error index 66 (kind 2)', fields: toNeutral(verdictRefused), bytes: toHex(tvRefused) },
    { name: 'a frame that did not decode, refused: ENCODING_INVALID, error index 15, zero channel', fields: toNeutral(verdictUndecoded), bytes: toHex(encodeTickVerdict(verdictUndecoded)) },
  ],
  verdictsInvalid: [
    { name: 'accepted, one byte short', bytes: toHex(tvAccepted.subarray(0, tvAccepted.length - 1)), error: 'ENCODING_INVALID' },
    { name: 'refused, a trailing byte', bytes: `${toHex(tvRefused)}00`, error: 'ENCODING_INVALID' },
    { name: 'accepted with the length of a refusal', bytes: toHex(tvAccepted.subarray(0, tvRefused.length)), error: 'ENCODING_INVALID' },
    { name: 'refused with the length of an acceptance', bytes: `${toHex(tvRefused)}000000000000`, error: 'ENCODING_INVALID' },
    { name: 'kind 0', bytes: flip(tvAccepted, 9, 0), error: 'ENCODING_INVALID' },
    { name: 'kind 3', bytes: flip(tvAccepted, 9, 3), error: 'ENCODING_INVALID' },
    { name: 'layout version 2', bytes: flip(tvRefused, 8, 2), error: 'ENCODING_INVALID' },
    { name: 'tick tag on verdict bytes', bytes: patch(tvRefused, 6, [0x54, 0x4b]), error: 'ENCODING_INVALID' },
    { name: `error index ${ERROR_CODE_TABLE.length}: past the frozen table`, bytes: patch(tvRefused, 10, u16Of(ERROR_CODE_TABLE.length)), error: 'ENCODING_INVALID' },
    { name: 'error index 65535', bytes: patch(tvRefused, 10, [0xff, 0xff]), error: 'ENCODING_INVALID' },
  ],
};

// ---- JSON messages ----
const messages = {
  description: `mqpay JSON messages, protocol version ${PROTOCOL_VERSION} (docs/PROTOCOL.md). For each schema: valid payloads with their parsed form (bigints as {"$bigint": "..."}: seqs, and amounts in micro-units) and invalid payloads with the error code a receiver answers (MESSAGE_INVALID, or MESSAGE_TOO_LARGE past ${PAYLOAD_BYTES_MAX} bytes). "raw" is a payload given as text (not JSON, or too large).`,
  protocolVersion: PROTOCOL_VERSION,
  errors: Object.fromEntries(Object.entries(ERRORS).map(([code, entry]) => [code, entry])),
  schemas: describeSchemas(),
};

// ---- binary frames (v3): out/voucher-bin, out/receipt-bin, in/voucher-bin, in/receipt-bin ----
const vSignature = sign(vBytes, SIGNER_SEED);
const rcBytes = encodeReceipt(receipt);
const rcSignature = sign(rcBytes, PAYEE_SEED);
const voucherFrame = encodeVoucherFrame(vBytes, vSignature);
const receiptFrame = encodeReceiptFrame(rcBytes, rcSignature);
const accepted = encodeVoucherAccepted(CHANNEL, 42n, parseAmount('12.345678'));
const refused = encodeVoucherRejected('VOUCHER_ABOVE_DEPOSIT', { channelId: CHANNEL, seq: 42n });
const refusedUndecoded = encodeVoucherRejected('ENCODING_INVALID', null);
const voucherForward = encodeVoucherForward('ev.car-7', vBytes, vSignature);
const receiptForward = encodeReceiptForward('charger_2', rcBytes, rcSignature);
const receiptRefused = encodeReceiptRejected('SIGNATURE_INVALID', { channelId: CHANNEL, seq: 42n });
const frameOf = (kind: string, name: string, bytes: Uint8Array) => ({ kind, name, bytes: toHex(bytes), decoded: toNeutral(frameCodec(kind).decode(bytes)) });
const frames = {
  description: 'mqpay binary frames, protocol v3 (docs/PROTOCOL.md "Binary frames"). Hex is lower-case; integers are {"$bigint": "..."}; amounts are micro-units. "decoded" is what the reference decoder returns (signed bytes and signatures in hex); every valid frame re-encodes to its bytes. "invalid" frames must be refused with the error code given. The voucher and receipt are those of encodings.json, signed by the signer and the payee seed.',
  errorIndexes: ERROR_CODE_TABLE.map((code, index) => ({ index, code })),
  valid: [
    frameOf('out/voucher-bin', 'voucher frame: voucher (82) | signature (64)', voucherFrame),
    frameOf('out/receipt-bin', 'receipt frame: receipt (57) | signature (64)', receiptFrame),
    frameOf('in/voucher-bin', 'accepted', accepted),
    frameOf('in/voucher-bin', 'rejected VOUCHER_ABOVE_DEPOSIT, naming the voucher', refused),
    frameOf('in/voucher-bin', 'rejected ENCODING_INVALID, the voucher did not decode (seq 0, zero channel)', refusedUndecoded),
    frameOf('in/voucher-bin', 'voucher forwarded to the payee', voucherForward),
    frameOf('in/receipt-bin', 'receipt forwarded to the payer', receiptForward),
    frameOf('in/receipt-bin', 'receipt rejected SIGNATURE_INVALID', receiptRefused),
  ],
  invalid: [
    { kind: 'out/voucher-bin', name: 'one byte short', bytes: toHex(voucherFrame.subarray(0, 145)), error: 'ENCODING_INVALID' },
    { kind: 'out/voucher-bin', name: 'a trailing byte', bytes: `${toHex(voucherFrame)}00`, error: 'ENCODING_INVALID' },
    { kind: 'out/voucher-bin', name: 'a receipt frame on the voucher box', bytes: toHex(receiptFrame), error: 'ENCODING_INVALID' },
    { kind: 'out/voucher-bin', name: 'voucher layout version 2', bytes: flip(voucherFrame, 8, 2), error: 'ENCODING_INVALID' },
    { kind: 'out/receipt-bin', name: 'one byte short', bytes: toHex(receiptFrame.subarray(0, 120)), error: 'ENCODING_INVALID' },
    { kind: 'out/receipt-bin', name: 'a voucher frame on the receipt box', bytes: toHex(voucherFrame), error: 'ENCODING_INVALID' },
    { kind: 'in/voucher-bin', name: 'accepted, one byte short', bytes: toHex(accepted.subarray(0, accepted.length - 1)), error: 'ENCODING_INVALID' },
    { kind: 'in/voucher-bin', name: 'accepted with the length of a rejection', bytes: toHex(accepted.subarray(0, refused.length)), error: 'ENCODING_INVALID' },
    { kind: 'in/voucher-bin', name: 'unknown kind 4', bytes: flip(accepted, 9, 4), error: 'ENCODING_INVALID' },
    { kind: 'in/voucher-bin', name: 'frame version 2', bytes: flip(accepted, 8, 2), error: 'ENCODING_INVALID' },
    { kind: 'in/voucher-bin', name: 'the receipt inbox tag', bytes: flip(accepted, 7, 0x52), error: 'ENCODING_INVALID' },
    { kind: 'in/voucher-bin', name: 'accepted at seq 0', bytes: patch(accepted, 42, [0, 0, 0, 0, 0, 0, 0, 0]), error: 'ENCODING_INVALID' },
    { kind: 'in/voucher-bin', name: 'rejected with an error index no code has', bytes: patch(refused, 10, [0xff, 0xff]), error: 'ENCODING_INVALID' },
    { kind: 'in/voucher-bin', name: 'rejected with seq 0 but a channel id', bytes: patch(refusedUndecoded, 12, [1]), error: 'ENCODING_INVALID' },
    { kind: 'in/voucher-bin', name: 'forward naming a payer that is no device id', bytes: patch(voucherForward, 11, [0x45]), error: 'ENCODING_INVALID' },
    { kind: 'in/voucher-bin', name: 'forward with non-zero padding after the payer', bytes: flip(voucherForward, 42, 0x41), error: 'ENCODING_INVALID' },
    { kind: 'in/receipt-bin', name: 'receipt forward, a trailing byte', bytes: `${toHex(receiptForward)}00`, error: 'ENCODING_INVALID' },
    { kind: 'in/receipt-bin', name: 'kind 3 (a voucher forward) on the receipt box', bytes: flip(receiptForward, 9, 3), error: 'ENCODING_INVALID' },
  ],
};

writeFileSync('test/vectors/protocol/encodings.json', `${JSON.stringify(encodings, null, 1)}\n`);
writeFileSync('test/vectors/protocol/hash-chain.json', `${JSON.stringify(hashChain, null, 1)}\n`);
writeFileSync('test/vectors/protocol/messages.json', `${JSON.stringify(messages, null, 1)}\n`);
writeFileSync('test/vectors/protocol/frames.json', `${JSON.stringify(frames, null, 1)}\n`);
