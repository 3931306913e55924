// The agent's public types: what pay, stream, onPayment and the rest hand back. Amounts are
// bigint micro-units (format them with formatAmount); channel ids are 64 hex characters.
import type { Amount } from '../shared/amount.js';
import type { OfferMessage as WireOfferMessage, ReceiptMessage as WireReceiptMessage, VoucherMessage as WireVoucherMessage } from '../shared/schemas.js';

/** A signed offer as it travels on the wire (out/offer), or handed over directly. */
export type OfferMessage = Readonly<WireOfferMessage>;

/** A voucher as it travels on the wire: also what a payer hands a payee over a local link. */
export type VoucherMessage = Readonly<WireVoucherMessage>;

/** A receipt as it travels on the wire, signed by the payee over (channel, seq, total). */
export type ReceiptMessage = Readonly<WireReceiptMessage>;

export interface PaymentReceipt {
  readonly seq: bigint;
  readonly total: Amount;
  readonly message: ReceiptMessage;
}

export interface PaymentFacts {
  readonly channel: string;
  readonly payee: string;
  readonly seq: bigint;
  /** The channel's running total after this payment. */
  readonly total: Amount;
  /** This payment alone. */
  readonly amount: Amount;
  /**
   * With a memo: the salt of its digest (32 hex). Give it to the payee with the memo (never to
   * the service); with both, `memoMatches` from shared/voucher.ts checks the voucher's digest.
   */
  readonly memoSalt?: string;
}

export interface Payment extends PaymentFacts {
  /** Present when the payment waited for the payee's receipt. */
  readonly receipt?: PaymentReceipt;
}

/** A payment signed and stored (and published when connected), not yet accepted. */
export interface SignedPayment extends PaymentFacts {
  readonly message: VoucherMessage;
  /** Resolves when the service accepts this voucher (or a later one of the channel). */
  readonly accepted: Promise<Payment>;
  /** Resolves when a receipt for this voucher (or a later one) arrives. */
  waitForReceipt(): Promise<PaymentReceipt>;
}

export interface PayOptions {
  /** Hashed, salted, into the voucher; the text itself stays with the two parties. */
  readonly memo?: string;
  /** The digest's salt (32 hex) when the payee chose it (an invoice); by default a random one. */
  readonly memoSalt?: string;
  /** Wait for the payee's receipt too, not only the service's acceptance. */
  readonly receipt?: boolean;
  /**
   * How long pay waits in all: one deadline over opening a channel, the acceptance and the
   * receipt. A voucher signed before it passes stays pending (and re-sent) after a timeout.
   */
  readonly timeoutMs?: number;
}

export interface ReceivedPayment {
  readonly channel: string;
  readonly payer: string;
  readonly seq: bigint;
  readonly total: Amount;
  readonly amount: Amount;
  /** 'service': forwarded by the service after its checks; 'direct': handed over locally. */
  readonly source: 'service' | 'direct';
  /** Whether the voucher was checked against a service-signed channel certificate. */
  readonly certified: boolean;
  readonly receipt: ReceiptMessage;
  /**
   * The voucher's memo digest (32 hex), when it has one: a payment against this seller's offer
   * carries the offer's `digest` here; a memo's is its salted digest (`memoMatches`).
   */
  readonly memoDigest?: string;
}

export type PaymentHandler = (payment: ReceivedPayment) => void | Promise<void>;

/** A seller's signed offer as a buyer read it (or as the seller signed it). */
export interface Offer {
  readonly device: string;
  /** ISO 4217 code of the price. */
  readonly currency: string;
  readonly unit: string;
  /** Price of one unit, micro-units. */
  readonly price: Amount;
  readonly issuedAtMs: bigint;
  readonly expiresAtSeconds: bigint;
  /** What a payment against it carries as its memo digest: 32 hex (shared/offer.ts `offerDigestOf`). */
  readonly digest: string;
  /**
   * Whether the seller's signature was checked here, against the seller key of a service-signed
   * channel certificate this agent holds (else only the service checked it before serving it).
   */
  readonly sellerKeyChecked: boolean;
  /** When the service stored it (unix ms; 0 for an offer not read from the service). */
  readonly atMs: number;
  /** The signed offer as it travels: hand it to a buyer directly, or pass it to `payOffer`. */
  readonly message: OfferMessage;
}

/** What a seller advertises; the agent signs it with the device key. */
export interface OfferTerms {
  readonly unit: string;
  readonly price: Amount | string;
  /** ISO 4217 code; must be the ledger's (DEFAULT_CURRENCY unless the ledger was created with another). */
  readonly currency?: string;
  /** How long each signing of it runs (default OFFER_LIFETIME_S_DEFAULT). */
  readonly lifetimeSeconds?: number;
}

export interface PayOfferOptions {
  /** Units to buy: the payment is exactly price x quantity. */
  readonly quantity: bigint | number;
  /** A signed offer handed over directly (a QR code, a file); by default read from the seller's offers topic. */
  readonly offer?: OfferMessage;
  readonly receipt?: boolean;
  readonly timeoutMs?: number;
}

export interface OfferPayment extends Payment {
  readonly offer: Offer;
  readonly quantity: bigint;
}

export interface StreamOptions {
  readonly amountPerSecond: Amount | string;
  /** How often an increment is paid. */
  readonly intervalMs?: number;
  /** A memo makes the stream pay by vouchers (a checkpoint carries none). */
  readonly memo?: string;
  /**
   * Pay each interval with a signed voucher instead of hash-chain ticks (protocol v3: one
   * signed checkpoint, then one hash per interval). Default false: ticks.
   */
  readonly vouchers?: boolean;
}

export interface StreamSummary {
  readonly paid: Amount;
  readonly payments: number;
  /** Set when the stream stopped because a payment failed. */
  readonly error: Error | null;
}

export interface PaymentStream {
  /** What the stream has paid (accepted) so far. */
  readonly paid: Amount;
  /** Settles when the stream stops, by `stop()` or because a payment failed. */
  readonly done: Promise<StreamSummary>;
  stop(): Promise<StreamSummary>;
}

/**
 * A close as the service answered it: a payer's close opens the dispute window ('closing',
 * settled at `closesAtMs`, then `settled` and `refunded` come in the `channel.closed` notice);
 * a payee's close settles at once ('closed', with both amounts).
 */
export interface CloseResult {
  readonly channel: string;
  readonly state: 'open' | 'closing' | 'closed';
  readonly settled?: Amount;
  readonly refunded?: Amount;
  readonly closesAtMs?: number;
}

/** One channel in a redemption pass, as the payee holds it and as the service holds it after. */
export interface RedeemedChannel {
  readonly channel: string;
  readonly payer: string;
  readonly state: 'open' | 'closing' | 'closed';
  /** The seq and total of the voucher this payee holds. */
  readonly heldSeq: bigint;
  readonly heldTotal: Amount;
  /** The service's latest after the pass. */
  readonly serviceSeq: bigint;
  readonly serviceTotal: Amount;
  /** Submitted in this pass (the service held less). */
  readonly submitted: boolean;
  /** The code that refused it, if it was refused. */
  readonly error?: string;
}

export interface RedeemReport {
  readonly channels: readonly RedeemedChannel[];
  /** True when the service holds this payee's best voucher on every channel it is paid through. */
  readonly complete: boolean;
}
