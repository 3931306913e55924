// Publishes vouchers, strictly after they are stored. Vouchers are cumulative, so of several
// vouchers of one channel committed together only the highest is published: its acceptance
// answers for all of them. Unanswered vouchers are re-sent, the latest per channel, after every
// reconnect and whenever one has waited `resendIntervalMs`: the "accepted" reply is the
// truth, not the PUBACK [docs/DESIGN.md rule 5]. Each goes as the binary frame of protocol v3 on
// out/voucher-bin: the signed bytes and the signature, nothing else.
import { toHex } from '../../shared/hex.js';
import { encodeVoucherFrame } from '../../shared/signed-frames.js';
import type { AgentContext } from '../context.js';
import { latestPendingPerChannel, type SignedVoucherRow } from '../store/signed-vouchers.js';
import type { VoucherMessage } from '../types.js';
import { PROTOCOL_VERSION } from '../../shared/schemas.js';

export const voucherMessageOf = (row: Pick<SignedVoucherRow, 'voucher' | 'signature'>): VoucherMessage => ({ v: PROTOCOL_VERSION, voucher: toHex(row.voucher), signature: toHex(row.signature) });

export class VoucherSender {
  private readonly staged = new Map<string, SignedVoucherRow>();
  private flushQueued = false;
  /** When each channel's latest voucher was last published (ms), to pace re-sends. */
  private readonly lastSentMs = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ctx: AgentContext) {}

  /** Called after commit: publishes the highest staged voucher per channel in a moment. */
  stage(row: SignedVoucherRow): void {
    this.ctx.faults.afterVoucherStored?.({ channel: toHex(row.channel), seq: row.seq, total: row.total });
    const key = toHex(row.channel);
    const current = this.staged.get(key);
    if (current === undefined || current.seq < row.seq) this.staged.set(key, row);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    const rows = [...this.staged.values()];
    this.staged.clear();
    for (const row of rows) this.publish(row);
  }

  private publish(row: SignedVoucherRow): void {
    // Offline, the voucher simply waits in the store: the reconnect re-sends it. Handing it to
    // MQTT.js's own offline queue as well would only duplicate it, without bound.
    if (!this.ctx.link.connected) return;
    this.lastSentMs.set(toHex(row.channel), this.ctx.clock.nowMs());
    this.ctx.link.publishFrame('voucher-bin', encodeVoucherFrame(row.voucher, row.signature)).catch((error: unknown) => {
      this.ctx.logger.debug({ channel: toHex(row.channel), seq: row.seq.toString(), err: (error as Error).message }, 'voucher publish not acknowledged; it will be re-sent');
    });
  }

  /** Publishes the latest pending voucher of every channel not sent within the interval. */
  resendPending(force: boolean): number {
    const nowMs = this.ctx.clock.nowMs();
    let sent = 0;
    for (const row of latestPendingPerChannel(this.ctx.db)) {
      const last = this.lastSentMs.get(toHex(row.channel));
      if (!force && last !== undefined && nowMs - last < this.ctx.timing.resendIntervalMs) continue;
      this.publish(row);
      sent += 1;
    }
    return sent;
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.resendPending(false), this.ctx.timing.resendIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
