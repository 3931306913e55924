// The public face of a running agent (what createAgent returns).
import type { RpcParamsInput, RpcResult } from '../shared/schemas.js';
import type { Amount } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';
import { toHex } from '../shared/hex.js';
import { channelIdFromHex } from '../shared/ids.js';
import type { AmountInput } from './amount-input.js';
import type { AgentContext } from './context.js';
import type { RotationResult } from './key-rotation.js';
import type { Payee } from './payee/payee.js';
import type { Payer } from './payer/payer.js';
import { readAgentStatus, type AgentStatus } from './status.js';
import { markPayeeChannelClosed } from './store/payee-channels.js';
import { getPayerChannel, setPayerChannelState } from './store/payer-channels.js';
import type {
  CloseResult, Offer, OfferPayment, OfferTerms, PayOfferOptions, RedeemReport, Payment, PaymentHandler, PaymentStream, PayOptions, ReceiptMessage, ReceivedPayment, SignedPayment, StreamOptions, VoucherMessage,
} from './types.js';

export interface Agent {
  readonly device: string;
  /** This device's public key, hex. */
  readonly publicKey: string;
  readonly connected: boolean;
  /** Pays `amount` to `payee`; resolves when the service accepted it (and the payee receipted, if asked). */
  pay(payee: string, amount: AmountInput, options?: PayOptions): Promise<Payment>;
  /** Signs and stores a payment without waiting; its `message` can be handed to the payee directly. */
  sign(payee: string, amount: AmountInput, options?: Pick<PayOptions, 'memo' | 'memoSalt'>): Promise<SignedPayment>;
  /** Pays continuously (each interval in advance) until stopped or a payment fails. */
  stream(payee: string, options: StreamOptions): PaymentStream;
  /** Called for every new payment received, after it is stored and receipted. */
  onPayment(handler: PaymentHandler): () => void;
  /** Takes a voucher handed over directly (no broker needed); throws the error that refuses it. */
  receiveVoucher(message: VoucherMessage): Promise<ReceivedPayment>;
  /** Takes a receipt handed back directly; false when it is not believable. */
  receiveReceipt(message: ReceiptMessage): boolean;
  /**
   * Signs `terms` with this device's key and publishes them as its current offer; the agent signs
   * and publishes them again after every reconnect. Resolves with the signed offer once sent.
   */
  offer(terms: OfferTerms): Promise<Offer>;
  /** A seller's current offer, its signature and expiry checked (see `Offer.sellerKeyChecked`). */
  readOffer(device: string, options?: { timeoutMs?: number }): Promise<Offer>;
  /** Pays exactly price x quantity against `payee`'s signed offer; the voucher's memo digest names the offer. */
  payOffer(payee: string, options: PayOfferOptions): Promise<OfferPayment>;
  /** The wallet balance held by the service. */
  balance(): Promise<Amount>;
  /** What this device knows locally: channels it pays and is paid through, pending vouchers. */
  channels(): AgentStatus;
  /**
   * Closes a channel. As payee: settles what is owed at once, refunds the rest to the payer. As
   * payer: opens the dispute window; it settles at the deadline (`closesAtMs`).
   */
  close(channel: string): Promise<CloseResult>;
  /**
   * Hands the service every payer-signed voucher this payee holds that is better than the
   * service's latest (also done by itself on every connect and when a close is pending).
   */
  redeem(): Promise<RedeemReport>;
  /**
   * Replaces this device's key [docs/DESIGN.md rule 12]: a new key, stored in the home before the
   * request goes out, signs from the service's answer on; open channels get re-issued
   * certificates. Needs the broker. A crash midway is finished by the next start.
   */
  rotateKey(): Promise<RotationResult>;
  whenConnected(timeoutMs: number): Promise<boolean>;
  onConnection(listener: (connected: boolean) => void): () => void;
  /**
   * The broker's CONNACK refusal of this device (DEVICE_DISABLED when an operator disabled it),
   * until it connects again; null while it is not refused.
   */
  readonly refusal: MqpayError | null;
  /** Called with each CONNACK refusal (DEVICE_DISABLED: the operator disabled this device). */
  onRefused(listener: (error: MqpayError) => void): () => void;
  /** Stops the agent: closes the link and the store. Pending vouchers stay stored. */
  stop(): Promise<void>;
}

export interface AgentParts {
  readonly stream: (payee: string, options: StreamOptions) => PaymentStream;
  readonly offer: (terms: OfferTerms) => Promise<Offer>;
  readonly readOffer: (device: string, timeoutMs: number | undefined) => Promise<Offer>;
  readonly payOffer: (payee: string, options: PayOfferOptions) => Promise<OfferPayment>;
  readonly rotateKey: () => Promise<RotationResult>;
  readonly stop: () => Promise<void>;
}

export class AgentApi implements Agent {
  readonly device: string;
  private stopping: Promise<void> | null = null;

  constructor(private readonly ctx: AgentContext, private readonly payer: Payer, private readonly payee: Payee, private readonly parts: AgentParts) {
    this.device = ctx.device;
  }

  /** The current key: a rotation changes it. */
  get publicKey(): string {
    return toHex(this.ctx.keys.publicKey);
  }

  rotateKey(): Promise<RotationResult> {
    return this.parts.rotateKey();
  }

  get connected(): boolean {
    return this.ctx.link.connected;
  }

  pay(payee: string, amount: AmountInput, options?: PayOptions): Promise<Payment> {
    return this.payer.pay(payee, amount, options);
  }

  sign(payee: string, amount: AmountInput, options?: Pick<PayOptions, 'memo' | 'memoSalt'>): Promise<SignedPayment> {
    return this.payer.sign(payee, amount, options);
  }

  stream(payee: string, options: StreamOptions): PaymentStream {
    return this.parts.stream(payee, options);
  }

  onPayment(handler: PaymentHandler): () => void {
    return this.payee.onPayment(handler);
  }

  receiveVoucher(message: VoucherMessage): Promise<ReceivedPayment> {
    return this.payee.receiveVoucher(message);
  }

  receiveReceipt(message: ReceiptMessage): boolean {
    return this.payer.receipts.accept(message, null);
  }

  offer(terms: OfferTerms): Promise<Offer> {
    return this.parts.offer(terms);
  }

  payOffer(payee: string, options: PayOfferOptions): Promise<OfferPayment> {
    return this.parts.payOffer(payee, options);
  }

  readOffer(device: string, options: { timeoutMs?: number } = {}): Promise<Offer> {
    return this.parts.readOffer(device, options.timeoutMs);
  }

  private async call<M extends 'wallet.balance' | 'channel.close'>(method: M, params: RpcParamsInput<M>): Promise<RpcResult<M>> {
    if (!(await this.ctx.link.whenConnected(this.ctx.timing.requestTimeoutMs))) throw new MqpayError('SERVICE_UNAVAILABLE', `broker unreachable; ${method} not sent`);
    return this.ctx.link.call(method, params);
  }

  async balance(): Promise<Amount> {
    return (await this.call('wallet.balance', {})).balance;
  }

  channels(): AgentStatus {
    return readAgentStatus(this.ctx.db);
  }

  async close(channel: string): Promise<CloseResult> {
    const id = channelIdFromHex(channel);
    const result = await this.call('channel.close', { channel });
    const state = result.channel.state;
    await this.ctx.batch.run(() => {
      // A payer signs nothing more once it asked to close; the payee's side closes with the channel.
      if (getPayerChannel(this.ctx.db, id) !== null) setPayerChannelState(this.ctx.db, id, 'closed');
      if (state === 'closed') markPayeeChannelClosed(this.ctx.db, id);
    });
    return {
      channel, state,
      ...(result.settled === undefined ? {} : { settled: result.settled }),
      ...(result.refunded === undefined ? {} : { refunded: result.refunded }),
      ...(result.channel.closesAtMs === undefined ? {} : { closesAtMs: result.channel.closesAtMs }),
    };
  }

  redeem(): Promise<RedeemReport> {
    return this.payee.redeemer.redeem();
  }

  whenConnected(timeoutMs: number): Promise<boolean> {
    return this.ctx.link.whenConnected(timeoutMs);
  }

  onConnection(listener: (connected: boolean) => void): () => void {
    const up = () => listener(true);
    const down = () => listener(false);
    this.ctx.link.on('connect', up);
    this.ctx.link.on('offline', down);
    return () => {
      this.ctx.link.off('connect', up);
      this.ctx.link.off('offline', down);
    };
  }

  get refusal(): MqpayError | null {
    return this.ctx.link.refusal;
  }

  onRefused(listener: (error: MqpayError) => void): () => void {
    this.ctx.link.on('refused', listener);
    return () => this.ctx.link.off('refused', listener);
  }

  stop(): Promise<void> {
    this.stopping ??= this.parts.stop();
    return this.stopping;
  }
}
