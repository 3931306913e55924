// Getting paid by hash-chain ticks (protocol v3): the service forwards a payer's checkpoint and
// each tick it accepted on `in/tick`. The payee checks them itself: the checkpoint's signature
// against the payer key of the channel's certificate, each tick with one hash per link against
// the highest it holds (shared/tick-rules.ts, the rule the service uses), and stores the highest.
// Written without an fsync: the service holds the durable copy (it forwards only what it
// committed), as for forwarded vouchers [docs/DESIGN.md rule 5].
import type { Amount } from '../../shared/amount.js';
import { decodeCheckpoint } from '../../shared/checkpoint.js';
import { verify } from '../../shared/crypto.js';
import { MqpayError } from '../../shared/errors.js';
import { toHex } from '../../shared/hex.js';
import { decodeSignedCheckpoint, tickFrameKindOf } from '../../shared/tick-frames.js';
import { acceptTick, chainStateOf, chainTotal, type ChainState } from '../../shared/tick-rules.js';
import { decodeTick } from '../../shared/tick.js';
import type { AgentContext } from '../context.js';
import { getPayeeChain, putPayeeChain, recordTicksReceived } from '../store/chains.js';
import { getPayeeChannel, type PayeeChannel } from '../store/payee-channels.js';

interface HeldChain {
  readonly state: ChainState;
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
}

export class TickReceiver {
  /** By channel (hex): the chain as last stored. */
  private readonly held = new Map<string, HeldChain>();

  constructor(private readonly ctx: AgentContext) {}

  /** A checkpoint or tick frame from the service; throws the MqpayError that refuses it. */
  async onFrame(payload: Uint8Array): Promise<void> {
    const kind = tickFrameKindOf(payload);
    if (kind === 'checkpoint') return this.onCheckpoint(payload);
    if (kind !== 'tick') throw new MqpayError('ENCODING_INVALID', 'not a checkpoint or tick frame');
    const tick = decodeTick(payload);
    const channel = this.certified(tick.channelId);
    const held = this.chainOf(tick.channelId);
    if (held === null) throw new MqpayError('TICK_CHECKPOINT_UNKNOWN', `checkpoint seq ${tick.checkpointSeq}`);
    if (tick.index <= held.state.highestIndex) return; // a re-send of what is held
    await this.store(tick.channelId, { ...held, state: acceptTick(held.state, tick, channel.deposit) });
  }

  /** What the channel's chain pays so far by what this payee checked; null with no chain. */
  totalOf(channelId: Uint8Array): Amount | null {
    const held = this.chainOf(channelId);
    return held === null ? null : chainTotal(held.state);
  }

  private async onCheckpoint(payload: Uint8Array): Promise<void> {
    const signed = decodeSignedCheckpoint(payload);
    const { checkpoint } = signed;
    const channel = this.certified(checkpoint.channelId);
    if (!verify(signed.signature, signed.bytes, channel.payerKey)) throw new MqpayError('SIGNATURE_INVALID', 'checkpoint');
    const held = this.chainOf(checkpoint.channelId);
    if (held !== null && checkpoint.seq <= held.state.checkpoint.seq) return; // a re-send, or older
    if (checkpoint.total > channel.deposit) throw new MqpayError('VOUCHER_ABOVE_DEPOSIT', 'checkpoint');
    await this.store(checkpoint.channelId, { state: chainStateOf(checkpoint), bytes: signed.bytes, signature: signed.signature });
  }

  private certified(channelId: Uint8Array): PayeeChannel & { readonly payerKey: Uint8Array; readonly deposit: Amount } {
    const channel = getPayeeChannel(this.ctx.db, channelId);
    if (channel === null || channel.payerKey === null || channel.deposit === null) throw new MqpayError('CHANNEL_UNKNOWN', 'no certificate for this channel');
    return channel as PayeeChannel & { readonly payerKey: Uint8Array; readonly deposit: Amount };
  }

  private chainOf(channelId: Uint8Array): HeldChain | null {
    const key = toHex(channelId);
    const cached = this.held.get(key);
    if (cached !== undefined) return cached;
    const row = getPayeeChain(this.ctx.db, channelId);
    if (row === null) return null;
    const held = { state: { ...chainStateOf(decodeCheckpoint(row.checkpoint)), highestIndex: row.highestIndex, highestLink: row.highestLink }, bytes: row.checkpoint, signature: row.signature };
    this.held.set(key, held);
    return held;
  }

  private async store(channelId: Uint8Array, held: HeldChain): Promise<void> {
    this.held.set(toHex(channelId), held);
    await this.ctx.batch.run(() => {
      putPayeeChain(this.ctx.db, channelId, { checkpoint: held.bytes, signature: held.signature, highestIndex: held.state.highestIndex, highestLink: held.state.highestLink });
      recordTicksReceived(this.ctx.db, channelId, held.state.checkpoint.seq, chainTotal(held.state), this.ctx.clock.nowMs());
    }, { durable: false });
  }
}
