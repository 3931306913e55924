// Voucher: "on channel C, at sequence n, I owe you a total of X". Signed by the payer over these
// bytes. Cumulative, so the latest voucher supersedes every earlier one and a lost voucher loses
// nothing. Layout (82 bytes, big-endian):
//   tag "MQPAY-VC" (8) | version (1) | channel id (32) | seq u64 | total u64 (micro-units)
//   | expires at u64 (unix seconds) | memo flag u8 (0/1) | memo digest (16; zero when flag is 0)
// The memo digest is salted (memoDigestOf); the layout is unchanged by that.
import { amountOf, type Amount } from './amount.js';
import { ByteReader, ByteWriter, domainTag } from './binary.js';
import { sha512 } from './crypto.js';
import { MqpayError } from './errors.js';
import { CHANNEL_ID_BYTES, MEMO_DIGEST_BYTES, MEMO_LENGTH_MAX, MEMO_SALT_BYTES, VOUCHER_SEQ_MAX } from './limits.js';

export const VOUCHER_TAG = domainTag('MQPAY-VC');
export const VOUCHER_VERSION = 1;
export const VOUCHER_BYTES = 8 + 1 + CHANNEL_ID_BYTES + 8 + 8 + 8 + 1 + MEMO_DIGEST_BYTES;

export interface Voucher {
  readonly channelId: Uint8Array;
  readonly seq: bigint;
  readonly total: Amount;
  readonly expiresAtSeconds: bigint;
  readonly memoDigest: Uint8Array | null;
}

/** A voucher seq (and a receipt's, which names a voucher) is in [1, 2^63-1]: stored as i64. */
export function checkSeq(seq: bigint, what = 'voucher'): void {
  if (typeof seq !== 'bigint' || seq < 1n || seq > VOUCHER_SEQ_MAX) {
    throw new MqpayError('ENCODING_INVALID', `${what} seq must be in [1, 2^63-1]`);
  }
}

export function encodeVoucher(voucher: Voucher): Uint8Array {
  checkSeq(voucher.seq);
  const writer = new ByteWriter(VOUCHER_BYTES)
    .raw(VOUCHER_TAG, 8)
    .u8(VOUCHER_VERSION)
    .raw(voucher.channelId, CHANNEL_ID_BYTES)
    .u64(voucher.seq)
    .u64(amountOf(voucher.total))
    .u64(voucher.expiresAtSeconds);
  if (voucher.memoDigest === null) writer.u8(0).raw(new Uint8Array(MEMO_DIGEST_BYTES), MEMO_DIGEST_BYTES);
  else writer.u8(1).raw(voucher.memoDigest, MEMO_DIGEST_BYTES);
  return writer.finish();
}

export function decodeVoucher(bytes: Uint8Array): Voucher {
  const reader = new ByteReader(bytes, VOUCHER_BYTES, 'voucher');
  reader.header(VOUCHER_TAG, VOUCHER_VERSION, 'voucher');
  const channelId = reader.raw(CHANNEL_ID_BYTES);
  const seq = reader.u64();
  checkSeq(seq);
  const total = amountOf(reader.u64());
  const expiresAtSeconds = reader.u64();
  const memoFlag = reader.u8();
  const memo = reader.raw(MEMO_DIGEST_BYTES);
  reader.end('voucher');
  if (memoFlag > 1) throw new MqpayError('ENCODING_INVALID', 'voucher: memo flag must be 0 or 1');
  if (memoFlag === 0 && memo.some((byte) => byte !== 0)) {
    throw new MqpayError('ENCODING_INVALID', 'voucher: memo digest without memo flag');
  }
  return { channelId, seq, total, expiresAtSeconds, memoDigest: memoFlag === 1 ? memo : null };
}

/**
 * The memo and its salt stay with the two parties; the voucher commits to the first 16 bytes of
 * SHA-512(salt || UTF-8 memo). The salt (16 random bytes) is what keeps the service and anyone
 * reading the voucher from confirming a guessed memo ("coffee", "rent") by hashing it: an
 * unsalted digest of a short memo is as good as the memo. Protocol v2.
 */
export function memoDigestOf(memo: string, salt: Uint8Array): Uint8Array {
  if (typeof memo !== 'string' || memo.length > MEMO_LENGTH_MAX) {
    throw new MqpayError('MESSAGE_INVALID', `memo must be a string of at most ${MEMO_LENGTH_MAX} characters`);
  }
  if (!(salt instanceof Uint8Array) || salt.length !== MEMO_SALT_BYTES) throw new MqpayError('MESSAGE_INVALID', `memo salt must be ${MEMO_SALT_BYTES} bytes`);
  const text = new TextEncoder().encode(memo);
  const input = new Uint8Array(salt.length + text.length);
  input.set(salt, 0);
  input.set(text, salt.length);
  return sha512(input).slice(0, MEMO_DIGEST_BYTES);
}

/** Whether a voucher's memo digest is this memo under this salt (what a payee told the memo checks). */
export function memoMatches(digest: Uint8Array | null, memo: string, salt: Uint8Array): boolean {
  if (digest === null || digest.length !== MEMO_DIGEST_BYTES) return false;
  const expected = memoDigestOf(memo, salt);
  let difference = 0;
  for (let i = 0; i < MEMO_DIGEST_BYTES; i++) difference |= (expected[i] ?? 0) ^ (digest[i] ?? 0);
  return difference === 0;
}
