// The store port: everything the settlement service persists (devices and their connect-token
// times, channels, vouchers, receipts, the ledger, settlements and epochs, stored request answers),
// behind one interface [docs/DESIGN.md "Store port"]. SQLite (`sqlite/store.ts`) is the first
// adapter; a network database (the cluster mode's PostgreSQL) is a second adapter, not a rewrite of
// the service.
//
// The port is async because a network database is. The SQLite adapter stays synchronous inside:
// its promises are already settled when returned, so a whole unit of work still runs in one turn
// of the event loop [docs/DESIGN.md "One unit of work"].
import type { Amount } from '../../shared/amount.js';
import type { AccountKind, TransferKind } from './accounts.js';

export interface ChannelRow {
  readonly num: bigint;
  readonly id: Uint8Array;
  readonly payer: string;
  readonly payee: string;
  readonly escrowAccount: bigint;
  readonly deposit: Amount;
  readonly expiresAtSeconds: bigint;
  /** 'closing': open, inside its dispute window until `closingDeadlineMs` [docs/DESIGN.md rule 11]. */
  readonly state: 'open' | 'closing' | 'closed';
  readonly revision: number;
  readonly certificate: Uint8Array;
  readonly certificateSignature: Uint8Array;
  readonly latestSeq: bigint;
  readonly latestTotal: Amount;
  readonly latestSignature: Uint8Array | null;
  readonly settledTotal: Amount;
  readonly openedAtMs: number;
  readonly closedAtMs: number | null;
  readonly closingDeadlineMs: number | null;
  readonly closingStartedMs: number | null;
  readonly closeRequestedBy: CloseRequester | null;
  /** The latest accepted voucher's signed bytes (null before the first, or accepted before schema 3). */
  readonly latestVoucher: Uint8Array | null;
  /** The certificate revision the latest voucher was judged against. */
  readonly latestRevision: number | null;
  /** Double-sign evidence rows held for this channel (bounded): the payer is flagged when > 0. */
  readonly doubleSigns: number;
}

/** Who asked for a close; 'operator-immediate' is an operator's explicit close without a window. */
export type CloseRequester = 'payer' | 'payee' | 'operator' | 'operator-immediate' | 'expiry';

export interface NewChannel {
  readonly id: Uint8Array;
  readonly payer: string;
  readonly payee: string;
  readonly payerWallet: bigint;
  readonly payeeWallet: bigint;
  readonly escrowAccount: bigint;
  readonly deposit: Amount;
  readonly expiresAtSeconds: bigint;
  readonly certificate: Uint8Array;
  readonly certificateSignature: Uint8Array;
  readonly nowMs: number;
}

export interface DeviceRow {
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly status: 'active' | 'disabled';
  readonly createdAtMs: number;
}

/**
 * A device's server-side spending limits [docs/DESIGN.md rule 12]: null where none is set (for a
 * device's own limits: the broker's default applies). `allowPayees` null: any payee.
 */
export interface DeviceLimits {
  readonly maxPerPayment: Amount | null;
  readonly maxPerHour: Amount | null;
  readonly maxPerDay: Amount | null;
  readonly allowPayees: readonly string[] | null;
}

/** What a payer's vouchers raised its totals by in one minute (`minute` = epoch ms / 60,000). */
export interface SpendBucket {
  readonly minute: number;
  readonly amount: Amount;
}

export type SettlementReason = 'epoch' | 'threshold' | 'close' | 'expiry' | 'manual';

export interface SettlementResult {
  readonly id: string;
  readonly reason: SettlementReason;
  readonly createdAtMs: number;
  readonly channelCount: number;
  readonly amount: Amount;
  readonly fee: Amount;
  /** Credited account name -> amount. */
  readonly lines: ReadonlyMap<string, Amount>;
  /** The single channel settled, for close and expiry; null for epochs. */
  readonly only: bigint | null;
}

/** What a settlement attempt came to: money moved, nothing to move, or the id was already used. */
export type SettlementOutcome =
  | { readonly kind: 'settled'; readonly result: SettlementResult }
  | { readonly kind: 'nothing' }
  | { readonly kind: 'already' };

export interface ChannelSettlement {
  readonly channel: Uint8Array;
  readonly payer: string;
  readonly payee: string;
  readonly amount: Amount;
  readonly fee: Amount;
  readonly settledTotal: Amount;
}

export interface TransferInput {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly amount: Amount;
  readonly kind: TransferKind;
  /** The channel's integer key (ChannelRow.num). */
  readonly channel?: bigint | undefined;
  readonly settlement?: string | undefined;
  readonly nowMs: number;
}


export interface DoubleSignEvidence {
  readonly channel: Uint8Array;
  readonly seq: bigint;
  readonly acceptedTotal: Amount;
  readonly conflictingTotal: Amount;
  readonly voucher: Uint8Array;
  readonly signature: Uint8Array;
  readonly nowMs: number;
}

export interface AcceptedVoucher {
  readonly channel: bigint;
  readonly seq: bigint;
  readonly total: Amount;
  /** The full signed bytes, kept as the channel's latest (evidence). */
  readonly voucher: Uint8Array;
  readonly signature: Uint8Array;
  /** A payee's redemption: it counts inside a dispute window, a payer's new voucher does not. */
  readonly redeeming: boolean;
  readonly nowMs: number;
}

/** A checkpoint judged and verified (protocol v3): it moves the channel's latest like a voucher and starts its chain. */
export interface AcceptedCheckpoint {
  readonly channel: bigint;
  readonly seq: bigint;
  readonly total: Amount;
  /** The signed 109-byte checkpoint and the payer's signature, kept as evidence. */
  readonly checkpoint: Uint8Array;
  readonly signature: Uint8Array;
  readonly root: Uint8Array;
  readonly chainLength: number;
  readonly pricePerTick: Amount;
  readonly nowMs: number;
  /** A payee's redemption (channel.redeemChain): it counts while the channel is closing. */
  readonly redeeming?: boolean;
}

/** A tick checked against the channel's chain: the new highest link and the total it brings the channel to. */
export interface AcceptedTick {
  readonly channel: bigint;
  readonly seq: bigint;
  readonly index: number;
  readonly link: Uint8Array;
  readonly total: Amount;
  /** A payee's redemption (channel.redeemChain): it counts while the channel is closing. */
  readonly redeeming?: boolean;
}

/** A channel's current chain as stored: the signed checkpoint and the highest link revealed. */
export interface StoredChain {
  readonly checkpoint: Uint8Array;
  readonly signature: Uint8Array;
  readonly highestIndex: number;
  readonly highestLink: Uint8Array;
}

export interface StoredReceipt {
  readonly channel: bigint;
  readonly seq: bigint;
  readonly total: Amount;
  readonly signature: Uint8Array;
  readonly nowMs: number;
}

export interface LatestReceipt {
  readonly channelId: Uint8Array;
  readonly payee: string;
  readonly seq: bigint;
  readonly total: Amount;
  readonly signature: Uint8Array;
}

export interface StoredAnswer {
  /** What the request asked, canonically: the same id with another digest is a conflict. */
  readonly digest: string;
  readonly response: string;
}

export interface FundInput {
  readonly device: string;
  readonly amount: Amount;
  /** The caller's idempotency key; the transfer id is fundTransferId(key). */
  readonly key: string;
  readonly nowMs: number;
}

/** 'already': the key was used before for exactly this funding. Another use is IDEMPOTENCY_CONFLICT. */
export type FundOutcome = { readonly kind: 'funded' | 'already'; readonly balance: Amount };

/** Money out of a wallet or the fees account to external [docs/DESIGN.md rule 13]. */
export interface PayoutInput {
  /** The account paid out: 'wallet:{device}' or 'fees'. */
  readonly from: string;
  readonly amount: Amount;
  /** The caller's idempotency key; the transfer id is payoutTransferId(key). */
  readonly key: string;
  readonly nowMs: number;
}

/** An operator's move from one device's wallet to another's (recovery of a lost device's balance). */
export interface MoveInput {
  readonly fromDevice: string;
  readonly toDevice: string;
  readonly amount: Amount;
  /** The caller's idempotency key; the transfer id is moveTransferId(key). */
  readonly key: string;
  readonly nowMs: number;
}

/**
 * 'already': the key was used before for exactly this transfer (nothing moved again); another
 * use is IDEMPOTENCY_CONFLICT. `balance` is the source account's balance afterwards.
 */
export type OutflowOutcome = { readonly kind: 'moved' | 'already'; readonly transferId: string; readonly balance: Amount };

export interface SettleInput {
  readonly id: string;
  readonly reason: SettlementReason;
  readonly nowMs: number;
  readonly feePpm: number;
  /** Restricts the settlement to one channel (close, expiry). */
  readonly only?: bigint;
}

/** A seller's current offer as stored: its signed bytes and signature, and the fields the store orders by. */
export interface StoredOffer {
  readonly seller: string;
  readonly offer: Uint8Array;
  readonly signature: Uint8Array;
  readonly issuedAtMs: bigint;
  readonly expiresAtSeconds: bigint;
  readonly storedAtMs: number;
}

/** Reads: usable inside a unit of work and outside one. */
export interface StoreReads {
  device(id: string): Promise<DeviceRow | null>;
  channel(id: Uint8Array): Promise<ChannelRow | null>;
  channelsOf(device: string, limit: number): Promise<ChannelRow[]>;
  /** Open channels past expiry and not yet in a dispute window. */
  expiredOpenChannels(nowSeconds: bigint, limit: number): Promise<ChannelRow[]>;
  /** Channels whose dispute window ended by `nowMs`. */
  dueClosingChannels(nowMs: number, limit: number): Promise<ChannelRow[]>;
  doubleSignCount(channel: Uint8Array): Promise<number>;
  /** The device's open channels (closing included), as payer or payee, at most `limit`. */
  openChannelsOf(device: string, limit: number): Promise<ChannelRow[]>;
  /** The device that has or had this public key, or null [docs/DESIGN.md rule 12]. */
  keyHolder(publicKey: Uint8Array): Promise<string | null>;
  /** The device's retired keys, most recently retired first. */
  retiredKeysOf(device: string, limit: number): Promise<Uint8Array[]>;
  countOpenChannelsOfPayer(payer: string): Promise<number>;
  /** Open channels (not yet closing) where `payer` pays, at most `limit`. */
  openChannelsOfPayer(payer: string, limit: number): Promise<ChannelRow[]>;
  /** The device's own spending limits (NO_LIMITS-like, all null, when none were set). */
  deviceLimits(device: string): Promise<DeviceLimits>;
  /** The device's spend buckets from `fromMinute` on, oldest first. */
  spendBuckets(device: string, fromMinute: number): Promise<SpendBucket[]>;
  voucherAt(channelId: Uint8Array, seq: bigint): Promise<{ total: Amount; signature: Uint8Array } | null>;
  /** The channel's current hash chain (v3), or null when it has none or a later voucher superseded it. */
  chainOf(channelId: Uint8Array): Promise<StoredChain | null>;
  /** The current chains of the payee's open channels (closing ones included), at most `limit`: what the payee is sent again on subscribe. */
  currentChainsOfPayee(payee: string, limit: number): Promise<StoredChain[]>;
  balance(account: string): Promise<Amount | null>;
  accountKey(name: string): Promise<bigint>;
  storedAnswer(device: string, id: string): Promise<StoredAnswer | null>;
  latestReceiptsOfPayer(payer: string, limit: number): Promise<LatestReceipt[]>;
  /** What each channel got in a settlement, a page at a time in channel order. */
  settlementChannels(id: string, after: bigint, limit: number): Promise<{ channels: ChannelSettlement[]; next: bigint | null }>;
  /** The ledger's ISO 4217 currency (its default when the ledger never stored one). */
  ledgerCurrency(): Promise<string>;
  offerOf(seller: string): Promise<StoredOffer | null>;
  /** Offers of active sellers not expired at `nowSeconds`, a page at a time in seller order, after `afterSeller`. */
  currentOffers(nowSeconds: bigint, afterSeller: string, limit: number): Promise<StoredOffer[]>;
  /** Whether (and when, from which backup) this ledger was restored, and what was healed since. */
  restoreRecord(): Promise<RestoreRecordRow | null>;
}

export interface RestoreRecordRow {
  readonly restoredAtMs: number;
  readonly from: string;
  readonly backupStartedAtMs: number;
  readonly backupSha256: string;
  readonly healedChannels: number;
  readonly healedCreated: number;
  readonly healedAmount: Amount;
}

/** Writes: only inside a unit of work (`Store.transaction`) or a batch (`Store.batch`). */
export interface StoreTx extends StoreReads {
  addDevice(id: string, publicKey: Uint8Array, nowMs: number): Promise<DeviceRow>;
  /** Records (or replaces) the TLS client certificate a device must present under mutual TLS. */
  recordDeviceCertificate(id: string, sha256: string): Promise<void>;
  /** Deletes settled vouchers accepted before `acceptedBeforeMs` that no evidence rule needs; returns how many. */
  pruneSettledVouchers(acceptedBeforeMs: number): Promise<number>;
  setDeviceStatus(id: string, status: 'active' | 'disabled'): Promise<void>;
  /** Replaces the device's own limits (all null: none, the defaults apply). */
  setDeviceLimits(id: string, limits: DeviceLimits, nowMs: number): Promise<void>;
  /** Adds a voucher's increase to the payer's spend bucket of `minute`. */
  addSpend(device: string, minute: number, amount: Amount): Promise<void>;
  /** Deletes spend buckets before `beforeMinute`; returns how many. */
  pruneSpend(beforeMinute: number): Promise<number>;
  /** Replaces the device's key if it is still `currentKey`; KEY_REUSED for a key any device ever had. */
  replaceDeviceKey(id: string, currentKey: Uint8Array, newKey: Uint8Array, nowMs: number): Promise<void>;
  /** Re-issues an open channel's certificate at `revision` (its next), keeping the one it replaces. */
  reissueCertificate(num: bigint, revision: number, certificate: Uint8Array, signature: Uint8Array): Promise<void>;
  /** Records a connect token's time if later than the device's last one; false otherwise (a replay). */
  useTokenTime(id: string, timeMs: bigint): Promise<boolean>;
  insertChannel(channel: NewChannel): Promise<bigint>;
  updateChannelDeposit(num: bigint, deposit: Amount, revision: number, certificate: Uint8Array, signature: Uint8Array): Promise<void>;
  /** A restored channel raised to a later certificate's terms (the revision may jump; asserted: it goes up). */
  raiseChannelTerms(num: bigint, deposit: Amount, revision: number, certificate: Uint8Array, signature: Uint8Array): Promise<void>;
  /** Counts a healed channel in the restore record; false when the ledger was never restored. */
  recordHeal(heal: { readonly created: boolean; readonly amount: Amount }): Promise<boolean>;
  markChannelClosed(num: bigint, by: CloseRequester, nowMs: number): Promise<void>;
  /** Opens the dispute window (asserted: the channel is open and not already closing). */
  markChannelClosing(num: bigint, by: CloseRequester, nowMs: number, deadlineMs: number): Promise<void>;
  /** Logs an accepted voucher and moves the channel's latest forward (asserted: exactly one row). */
  appendVoucher(voucher: AcceptedVoucher): Promise<void>;
  /** Logs a checkpoint as the channel's latest (asserted: it moved the channel) and makes its chain current. */
  appendCheckpoint(checkpoint: AcceptedCheckpoint): Promise<void>;
  /** Raises the chain's highest link and the channel's latest total (TICK_CHECKPOINT_UNKNOWN, CHANNEL_CLOSING or CHANNEL_CLOSED if stale). */
  appendTick(tick: AcceptedTick): Promise<void>;
  /** False when the channel already holds its bound of evidence rows (or this one). */
  recordDoubleSign(evidence: DoubleSignEvidence): Promise<boolean>;
  /** Keeps each channel's latest receipt only; an older one changes nothing. */
  storeReceipt(receipt: StoredReceipt): Promise<void>;
  ensureAccount(name: string, kind: AccountKind): Promise<bigint>;
  insertTransfer(transfer: TransferInput): Promise<void>;
  fund(input: FundInput): Promise<FundOutcome>;
  /** Pays out to external, once per key; above the available balance is INSUFFICIENT_FUNDS. */
  payout(input: PayoutInput): Promise<OutflowOutcome>;
  /** Moves between two wallets, once per key; above the available balance is INSUFFICIENT_FUNDS. */
  move(input: MoveInput): Promise<OutflowOutcome>;
  /** Set-based settlement; 'already' when the id was used, 'nothing' when no channel changed. */
  settle(input: SettleInput): Promise<SettlementOutcome>;
  /** The next epoch number, from a counter kept in the store (never the wall clock). */
  nextEpoch(): Promise<bigint>;
  storeAnswer(device: string, id: string, method: string, answer: StoredAnswer, nowMs: number, keepPerDevice: number): Promise<void>;
  /** Replaces the seller's offer when this one is strictly newer; false (nothing changed) otherwise. */
  putOffer(offer: StoredOffer): Promise<boolean>;
  /** Deletes at most `limit` offers expired by `nowSeconds`; returns their sellers. */
  deleteExpiredOffers(nowSeconds: bigint, limit: number): Promise<string[]>;
}

/** What one write of a batch came to: its value, or the error that rolled it back alone. */
export type BatchOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

export interface Store {
  readonly reads: StoreReads;
  /**
   * One unit of work: BEGIN IMMEDIATE, `work`, COMMIT (ROLLBACK if it throws). Callers are
   * serialised by the service's UnitOfWork; the store asserts it is never nested. A store may
   * run `work` again after its database aborted it for a conflict (PostgreSQL: postgres/store.ts),
   * so `work` acts only through `tx` until the promise resolves.
   */
  transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T>;
  /**
   * A group commit: one transaction for all `writes`, each in its own savepoint, so one that
   * throws is rolled back alone. Rejects only when the commit itself fails (nothing is durable).
   * As `transaction`, the whole batch may run again after a conflict.
   */
  batch<T>(writes: readonly ((tx: StoreTx) => Promise<T>)[]): Promise<BatchOutcome<T>[]>;
  close(): Promise<void>;
}
