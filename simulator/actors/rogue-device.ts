// A rogue device's own plumbing: a low-level DeviceLink straight to the broker (no agent, so it
// can send whatever bytes it likes), its channel to its victim, honest-looking "cover"
// payments on it, the vouchers honest buyers pay it with (material for replays), and waiting
// for the service's verdict on a voucher.
import { secondsOf } from '../../shared/time.js';
import { DeviceLink } from '../../agent/link/link.js';
import { addAmount, formatAmount, parseAmount, ZERO, type Amount } from '../../shared/amount.js';
import { sign } from '../../shared/crypto.js';
import { MqpayError } from '../../shared/errors.js';
import { toHex } from '../../shared/hex.js';
import { decodeVoucherInboxFrame } from '../../shared/inbox-frames.js';
import { newChannelId, type RandomBytes } from '../../shared/ids.js';
import type { KeyPair } from '../../shared/keys.js';
import { parsePayload, PROTOCOL_VERSION, voucherInboxSchema } from '../../shared/schemas.js';
import { encodeVoucher, type Voucher } from '../../shared/voucher.js';
import type { RoguePlan } from '../plan/fleet.js';
import type { SimClock } from '../world/sim-clock.js';

export interface VoucherMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly voucher: string;
  readonly signature: string;
}

type VoucherInbox = ReturnType<typeof parsePayload<typeof voucherInboxSchema>>;

export type Verdict = { readonly type: 'voucher.accepted'; readonly total: string } | { readonly type: 'voucher.rejected'; readonly code: string };

/** Channel lifetime of a rogue's channel; a run is much shorter. */
const ROGUE_CHANNEL_SECONDS = 24 * 3600;
/** A voucher's validity, as an agent would sign it. */
const VOUCHER_LIFETIME_S = 3600n;
/** Cover payments: 0.001 - 0.005 units each. */
const COVER_MICRO = { min: 1_000n, max: 5_000n } as const;

export class RogueDevice {
  channel: { readonly id: Uint8Array; readonly deposit: Amount } | null = null;
  latestSeq = 0n;
  latestTotal: Amount = ZERO;
  /** The highest total it signed as an honest payer would (cover payments only). */
  signedMax: Amount = ZERO;
  coverSigned = 0;
  coverAccepted = 0;
  /** Its own accepted vouchers by seq (the last few), for replays. */
  readonly sent = new Map<bigint, VoucherMessage>();
  /** The latest voucher an honest buyer paid it with. */
  forwarded: VoucherMessage | null = null;
  private readonly waiting = new Map<string, (verdict: Verdict) => void>();

  private constructor(readonly plan: RoguePlan, readonly keys: KeyPair, readonly link: DeviceLink, private readonly clock: SimClock) {
    link.setMaxListeners(0);
    link.on('inbox', (box: string, payload: Uint8Array) => {
      if (box === 'voucher-bin') return this.onVoucherFrame(payload);
      if (box !== 'voucher') return;
      try {
        this.onVoucherInbox(parsePayload(voucherInboxSchema, payload));
      } catch {
        // not a voucher message the schema knows: nothing to wait for
      }
    });
  }

  static open(input: { plan: RoguePlan; keys: KeyPair; url: string; brokerId: string; clock: SimClock; random: RandomBytes }): RogueDevice {
    const link = DeviceLink.open({
      url: input.url, device: input.plan.id, secretKey: input.keys.secretKey, brokerId: input.brokerId, clock: input.clock, random: input.random,
      requestTimeoutMs: 5_000, reconnectPeriodMs: 200, reconnectPeriodMaxMs: 1_000, cleanSession: true,
    });
    return new RogueDevice(input.plan, input.keys, link, input.clock);
  }

  /** Since protocol v3 a forward comes as a frame (its own vouchers it still sends as JSON, answered in JSON). */
  private onVoucherFrame(payload: Uint8Array): void {
    try {
      const frame = decodeVoucherInboxFrame(payload);
      if (frame.type === 'voucher') this.forwarded = { v: PROTOCOL_VERSION, voucher: toHex(frame.bytes), signature: toHex(frame.signature) };
    } catch {
      // not a frame this build knows: nothing to keep
    }
  }

  private onVoucherInbox(message: VoucherInbox): void {
    if (message.type === 'voucher') {
      this.forwarded = { v: PROTOCOL_VERSION, voucher: message.voucher, signature: message.signature };
      return;
    }
    const key = `${message.channel ?? '-'}:${message.seq ?? '-'}`;
    const resolve = this.waiting.get(key);
    if (resolve === undefined) return;
    this.waiting.delete(key);
    resolve(message.type === 'voucher.accepted' ? { type: 'voucher.accepted', total: formatAmount(message.total) } : { type: 'voucher.rejected', code: message.error.code });
  }

  /** Publishes a voucher message and waits for the verdict on (channel, seq); null on timeout. */
  async verdict(message: VoucherMessage, channel: Uint8Array, seq: bigint, timeoutMs: number): Promise<Verdict | null> {
    const key = `${toHex(channel)}:${seq}`;
    const answered = new Promise<Verdict>((resolve) => this.waiting.set(key, resolve));
    await this.link.publish('voucher', message).catch(() => undefined);
    const stop = new AbortController();
    const result = await Promise.race([answered, this.clock.sleep(timeoutMs, stop.signal).then(() => null)]);
    stop.abort();
    if (result === null) this.waiting.delete(key);
    return result;
  }

  /** Signs a voucher with any key (its own unless told otherwise). */
  signVoucher(fields: Omit<Voucher, 'expiresAtSeconds' | 'memoDigest'>, secretKey: Uint8Array = this.keys.secretKey): VoucherMessage {
    const expiresAtSeconds = secondsOf(this.clock.nowMs()) + VOUCHER_LIFETIME_S;
    const bytes = encodeVoucher({ ...fields, expiresAtSeconds, memoDigest: null });
    return { v: PROTOCOL_VERSION, voucher: toHex(bytes), signature: toHex(sign(bytes, secretKey)) };
  }

  /** Opens its channel to the victim (once). */
  async openChannel(random: RandomBytes): Promise<void> {
    if (this.channel !== null) return;
    const id = newChannelId(random);
    const result = await this.link.request('channel.open', { channel: toHex(id), payee: this.plan.victim, deposit: formatAmount(this.plan.deposit), durationSeconds: ROGUE_CHANNEL_SECONDS });
    const deposit = (result.channel as { deposit?: unknown } | undefined)?.deposit;
    if (typeof deposit !== 'string') throw new MqpayError('MESSAGE_INVALID', 'channel.open answer without a deposit');
    this.channel = { id, deposit: parseAmount(deposit) };
  }

  /** The cover voucher awaiting its verdict: re-sent as is, never re-signed with another total. */
  private pendingCover: { readonly seq: bigint; readonly total: Amount; readonly message: VoucherMessage } | null = null;
  coverRejected = 0;

  private nextCover(channel: { readonly id: Uint8Array }): { seq: bigint; total: Amount; message: VoucherMessage } {
    const seq = this.latestSeq + 1n;
    const span = COVER_MICRO.max - COVER_MICRO.min + 1n;
    const total = addAmount(this.latestTotal, (COVER_MICRO.min + ((BigInt(this.coverSigned) * 7_919n) % span)) as Amount);
    this.coverSigned += 1;
    if (total > this.signedMax) this.signedMax = total;
    return { seq, total, message: this.signVoucher({ channelId: channel.id, seq, total }) };
  }

  /** One honest-looking payment on its channel; true once accepted. */
  async coverPayment(timeoutMs: number): Promise<boolean> {
    const channel = this.channel;
    if (channel === null) return false;
    this.pendingCover ??= this.nextCover(channel);
    const { seq, total, message } = this.pendingCover;
    const verdict = await this.verdict(message, channel.id, seq, timeoutMs);
    if (verdict === null) return false;
    this.pendingCover = null;
    if (verdict.type !== 'voucher.accepted') {
      this.coverRejected += 1;
      return false;
    }
    this.coverAccepted += 1;
    this.latestSeq = seq;
    this.latestTotal = total;
    this.sent.set(seq, message);
    this.sent.delete(seq - 8n);
    return true;
  }

  close(): Promise<void> {
    return this.link.close();
  }
}
