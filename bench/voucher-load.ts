// The voucher load both the embedded broker (broker.bench.ts) and the cluster (cluster.bench.ts)
// are measured with: a channel opened over MQTT by the payer's own link, then every voucher of it
// signed beforehand (binary frames, protocol v3 out/voucher-bin), published at QoS 1 by the load
// generator (mqtt-load-worker.ts); the payer reads its verdicts and the payee its forwards.
import { randomBytes } from 'node:crypto';
import { DeviceLink } from '../agent/link/link.js';
import { amountOf } from '../shared/amount.js';
import { sign } from '../shared/crypto.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import type { KeyPair } from '../shared/keys.js';
import { inboxTopic, outboxTopic } from '../shared/topics.js';
import { encodeVoucher } from '../shared/voucher.js';
import { encodeVoucherFrame } from '../shared/signed-frames.js';
import { benchPassword } from './mqtt-load.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
/** Each payer's deposit; its balance is funded above it (enrolBenchPair: 1000). */
export const BENCH_DEPOSIT = '500';

/** Binary voucher frames (protocol v3, out/voucher-bin): the signed bytes and the signature. */
export function voucherPayloads(keys: KeyPair, channelId: Uint8Array, count: number): Uint8Array[] {
  const expiresAtSeconds = BigInt(Math.floor(Date.now() / 1000) + 3600);
  const out: Uint8Array[] = [];
  for (let seq = 1n; seq <= BigInt(count); seq++) {
    const bytes = encodeVoucher({ channelId, seq, total: amountOf(seq * 125n), expiresAtSeconds, memoDigest: null });
    out.push(encodeVoucherFrame(bytes, sign(bytes, keys.secretKey)));
  }
  return out;
}

/** Opens a channel from `payer` to `payee` through the broker at `url`, as the payer's agent would. */
export async function openBenchChannel(url: string, payer: string, keys: KeyPair, payee: string): Promise<Uint8Array> {
  const link = await DeviceLink.connect({ url, device: payer, secretKey: keys.secretKey, brokerId: 'mqpay', clock: { nowMs: () => Date.now() }, random });
  try {
    const channelId = newChannelId(random);
    await link.request('channel.open', { channel: toHex(channelId), payee, deposit: BENCH_DEPOSIT, durationSeconds: 3600 });
    return channelId;
  } finally {
    await link.close();
  }
}

/** One payer/payee pair as the load generator takes it; each may connect to its own broker URL. */
export interface PairLoad {
  readonly payer: string;
  readonly payee: string;
  readonly keys: { readonly payer: KeyPair; readonly payee: KeyPair };
  readonly payerUrl?: string;
  readonly payeeUrl?: string;
  readonly payloads: readonly Uint8Array[];
  /** false: the payee's forwards are read but the run does not wait for them (default true). */
  readonly countForwards?: boolean;
}

/** The payer publishes its vouchers and reads its verdicts; the payee only reads its forwards. */
export function pairPublishers(pair: PairLoad): object[] {
  const client = (device: string, keys: KeyPair, url: string | undefined, payloads: readonly Uint8Array[], countReplies = true) => ({
    clientId: device, countReplies, username: device, password: benchPassword(device, keys), ...(url === undefined ? {} : { url }),
    topic: outboxTopic(device, 'voucher-bin'), replyTopic: inboxTopic(device, 'voucher-bin'), replyQos: 1, payloads,
  });
  return [client(pair.payer, pair.keys.payer, pair.payerUrl, pair.payloads), client(pair.payee, pair.keys.payee, pair.payeeUrl, [], pair.countForwards ?? true)];
}
