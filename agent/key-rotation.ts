// Key rotation, the agent's side [docs/DESIGN.md rule 12]. `rotate()` draws a new key, writes it
// and the signed request durably to the home as pending (home/pending-rotation.ts), sends
// `device.rotate`, and switches once the service answers. The old key stays in the home until
// the switch is confirmed. If the agent dies between the service's commit and its own switch, the
// next start finds the pending key and learns which key the broker accepts: it connects with the
// current key; a broker that refuses it (bad password, CONNACK 4) gets the pending one next, and
// a connection with it confirms the switch. A broker that still accepts the current key never
// committed the rotation: the agent sends the same request again (same request id), and switches
// if it is accepted now, or forgets it if it is refused for good.
import { sign } from '../shared/crypto.js';
import { MqpayError } from '../shared/errors.js';
import { bytesEqual, toHex } from '../shared/hex.js';
import { signKeyRotation } from '../shared/key-rotation.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import type { AgentContext } from './context.js';
import { countPendingVouchers } from './store/signed-vouchers.js';
import { completePendingRotation, discardPendingRotation, readPendingRotation, writePendingRotation, type PendingRotation } from './home/pending-rotation.js';

/** Random bytes in a rotation's request id. */
const ROTATION_REQUEST_RANDOM_BYTES = 8;
/** MQTT 3.1.1 CONNACK "bad user name or password": the broker refused the token's signature. */
const CONNACK_BAD_PASSWORD = 4;

export interface RotationResult {
  /** The new public key, hex. */
  readonly publicKey: string;
  /** Open channels whose certificate the service re-issued with the new key. */
  readonly certificates: number;
}

export class KeyRotator {
  private pending: PendingRotation | null;
  /** The link signs its tokens with the pending key (the current one was refused). */
  private tryingPending = false;
  private rotating = false;

  constructor(private readonly ctx: AgentContext) {
    this.pending = readPendingRotation(ctx.home);
    if (this.pending !== null && bytesEqual(ctx.keys.publicKey, this.pending.keys.publicKey)) {
      // The switch was done and only the pending file was left behind.
      discardPendingRotation(ctx.home);
      this.pending = null;
    }
    ctx.keys.pending = this.pending?.keys ?? null;
  }

  async rotate(): Promise<RotationResult> {
    const { ctx } = this;
    if (this.rotating) throw new MqpayError('KEY_ROTATION_INVALID', 'a key rotation is already running');
    if (!ctx.link.connected) throw new MqpayError('SERVICE_UNAVAILABLE', 'a key rotation needs the broker: the agent is offline');
    this.rotating = true;
    try {
      // One left pending (its answer was lost): the same request again finishes it, or is refused for good.
      if (this.pending !== null) return await this.finish(this.pending);
      // A voucher signed with the old key and answered after the rotation would be refused
      // (KEY_ROTATED) and retire its channel: rotate once every voucher is answered (and the
      // answers recorded: they are written in the next batch).
      await ctx.batch.flush();
      const pendingVouchers = countPendingVouchers(ctx.db);
      if (pendingVouchers > 0) throw new MqpayError('SERVICE_UNAVAILABLE', `${pendingVouchers} signed voucher(s) still wait for the service's answer; rotate once they are answered`);
      return await this.finish(this.prepare());
    } finally {
      this.rotating = false;
    }
  }

  private async finish(pending: PendingRotation): Promise<RotationResult> {
    const result = await this.send(pending);
    this.ctx.faults.afterRotationAnswered?.();
    this.complete(pending.keys);
    return { publicKey: toHex(pending.keys.publicKey), certificates: result.certificates };
  }

  /** Draws the new key, signs the request with both keys and stores both before anything is sent. */
  private prepare(): PendingRotation {
    const { ctx } = this;
    const next = generateKeyPair(ctx.random);
    const signed = signKeyRotation({ device: ctx.device, timeMs: ctx.clock.nowMs(), current: { secretKey: ctx.keys.secretKey, publicKey: ctx.keys.publicKey }, next, sign });
    const pending: PendingRotation = {
      keys: next,
      requestId: `rotate-${toHex(ctx.random(ROTATION_REQUEST_RANDOM_BYTES))}`,
      params: { rotation: toHex(signed.bytes), signature: toHex(signed.signature), newSignature: toHex(signed.newSignature) },
    };
    writePendingRotation(ctx.home, pending);
    this.pending = pending;
    ctx.keys.pending = next;
    return pending;
  }

  /** Sends the stored request; a final refusal forgets it (the old key stays), anything else keeps it. */
  private async send(pending: PendingRotation): Promise<{ certificates: number }> {
    try {
      return await this.ctx.link.call('device.rotate', pending.params, pending.requestId);
    } catch (error) {
      if (error instanceof MqpayError && !error.retryable) this.forget();
      throw error;
    }
  }

  private complete(keys: KeyPair): void {
    const { ctx } = this;
    completePendingRotation(ctx.home, keys);
    ctx.keys.switchTo(keys);
    ctx.link.useKey(keys.secretKey);
    this.pending = null;
    this.tryingPending = false;
    ctx.logger.info({ device: ctx.device, publicKey: toHex(keys.publicKey) }, 'key rotation completed');
  }

  private forget(): void {
    discardPendingRotation(this.ctx.home);
    this.pending = null;
    this.ctx.keys.pending = null;
    if (this.tryingPending) this.ctx.link.useKey(this.ctx.keys.secretKey);
    this.tryingPending = false;
  }

  /** The broker refused the connection: with a rotation pending, the other key is tried next. */
  onRefused(error: Error): void {
    if (this.pending === null || (error as { code?: unknown }).code !== CONNACK_BAD_PASSWORD) return;
    this.tryingPending = !this.tryingPending;
    this.ctx.link.useKey(this.tryingPending ? this.pending.keys.secretKey : this.ctx.keys.secretKey);
    this.ctx.logger.warn({ device: this.ctx.device, trying: this.tryingPending ? 'pending key' : 'current key' }, 'key rotation pending: the broker refused the key; trying the other one');
  }

  /**
   * Connected with a rotation pending (after a restart): the key the broker accepted tells
   * whether the rotation committed. Runs before anything else on the connection signs.
   */
  onConnected(): void {
    const { pending } = this;
    if (pending === null || this.rotating) return;
    if (this.tryingPending) {
      this.complete(pending.keys);
      return;
    }
    this.send(pending).then(() => {
      if (this.pending === pending) this.complete(pending.keys);
    }, (error: unknown) => {
      this.ctx.logger.warn({ device: this.ctx.device, code: error instanceof MqpayError ? error.code : 'INTERNAL' }, this.pending === null ? 'pending key rotation refused; keeping the current key' : 'pending key rotation not finished; trying again on the next connect');
    });
  }
}
