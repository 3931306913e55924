// One settlement: a single BEGIN IMMEDIATE transaction, idempotent by its id. For each channel
// whose latest total is above what was settled, it moves the difference from the channel's
// escrow to the payee's wallet (less an optional fee to the operator) and records one
// settlement row with a line per credited account. It reads only the channels that changed
// (the partial index `channels_unsettled`), so its cost follows them, not the vouchers received.
import { amountOf, type Amount } from '../../shared/amount.js';
import { toHex } from '../../shared/hex.js';
import { escrowAccount, FEES_ACCOUNT, insertTransfer, walletAccount } from './ledger.js';
import type { Db } from './open-database.js';
import { statement } from './statement.js';

export type SettlementReason = 'epoch' | 'threshold' | 'close' | 'expiry' | 'manual';
/** Fees are parts per million of each settled amount, rounded down (the payee keeps the rest). */
export const FEE_PPM_MAX = 100_000;

export interface ChannelSettlement {
  readonly channel: Uint8Array;
  readonly payer: string;
  readonly payee: string;
  readonly amount: Amount;
  readonly fee: Amount;
  readonly settledTotal: Amount;
}

export interface SettlementResult {
  readonly id: string;
  readonly reason: SettlementReason;
  readonly createdAtMs: number;
  readonly channels: readonly ChannelSettlement[];
  readonly amount: Amount;
  readonly fee: Amount;
  readonly lines: ReadonlyMap<string, Amount>;
}

interface UnsettledRow { id: Buffer; payer: string; payee: string; latest_total: bigint; settled_total: bigint }

function feeOf(amount: bigint, feePpm: number): bigint {
  return (amount * BigInt(feePpm)) / 1_000_000n;
}

/**
 * Settles inside the caller's transaction. `only` restricts it to one channel (close, expiry).
 * Returns null when the id was already settled or nothing had changed.
 */
export function settleInTransaction(db: Db, input: { id: string; reason: SettlementReason; nowMs: number; feePpm: number; only?: Uint8Array }): SettlementResult | null {
  if (statement(db, 'SELECT 1 FROM settlements WHERE id = ?').get(input.id) !== undefined) return null;
  const rows = (input.only === undefined
    ? statement(db, 'SELECT id, payer, payee, latest_total, settled_total FROM channels WHERE latest_total > settled_total').all()
    : statement(db, 'SELECT id, payer, payee, latest_total, settled_total FROM channels WHERE latest_total > settled_total AND id = ?').all(input.only)) as UnsettledRow[];
  if (rows.length === 0) return null;
  const markSettled = statement(db, 'UPDATE channels SET settled_total = ? WHERE id = ?');
  const lines = new Map<string, Amount>();
  const channels: ChannelSettlement[] = [];
  let amountTotal = 0n;
  let feeTotal = 0n;
  for (const row of rows) {
    const channel = new Uint8Array(row.id);
    const delta = row.latest_total - row.settled_total;
    const fee = feeOf(delta, input.feePpm);
    const payout = delta - fee;
    const escrow = escrowAccount(channel);
    const channelHex = toHex(channel);
    const common = { channel, settlement: input.id, nowMs: input.nowMs };
    if (payout > 0n) insertTransfer(db, { ...common, id: `settle:${input.id}:${channelHex}`, from: escrow, to: walletAccount(row.payee), amount: amountOf(payout), kind: 'settle' });
    if (fee > 0n) insertTransfer(db, { ...common, id: `fee:${input.id}:${channelHex}`, from: escrow, to: FEES_ACCOUNT, amount: amountOf(fee), kind: 'fee' });
    markSettled.run(row.latest_total, row.id);
    if (payout > 0n) lines.set(walletAccount(row.payee), ((lines.get(walletAccount(row.payee)) ?? 0n) + payout) as Amount);
    if (fee > 0n) lines.set(FEES_ACCOUNT, ((lines.get(FEES_ACCOUNT) ?? 0n) + fee) as Amount);
    amountTotal += delta;
    feeTotal += fee;
    channels.push({ channel, payer: row.payer, payee: row.payee, amount: amountOf(delta), fee: amountOf(fee), settledTotal: amountOf(row.latest_total) });
  }
  statement(db, 'INSERT INTO settlements (id, reason, channels, amount, fee, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)').run(input.id, input.reason, BigInt(rows.length), amountTotal, feeTotal, BigInt(input.nowMs));
  const insertLine = statement(db, 'INSERT INTO settlement_lines (settlement, account, amount) VALUES (?, ?, ?)');
  for (const [account, amount] of lines) insertLine.run(input.id, account, amount);
  return { id: input.id, reason: input.reason, createdAtMs: input.nowMs, channels, amount: amountOf(amountTotal), fee: amountOf(feeTotal), lines };
}

/** A whole epoch as its own BEGIN IMMEDIATE transaction. */
export function settleEpoch(db: Db, input: { id: string; reason: SettlementReason; nowMs: number; feePpm: number }): SettlementResult | null {
  return db.transaction(() => settleInTransaction(db, input)).immediate();
}

export interface SettlementRow {
  readonly id: string;
  readonly reason: SettlementReason;
  readonly channels: number;
  readonly amount: Amount;
  readonly fee: Amount;
  readonly createdAtMs: number;
}

export function listSettlements(db: Db, limit: number, offset = 0): SettlementRow[] {
  const rows = statement(db, 'SELECT id, reason, channels, amount, fee, created_at_ms FROM settlements ORDER BY created_at_ms DESC, rowid DESC LIMIT ? OFFSET ?').all(BigInt(limit), BigInt(offset)) as { id: string; reason: SettlementReason; channels: bigint; amount: bigint; fee: bigint; created_at_ms: bigint }[];
  return rows.map((row) => ({ id: row.id, reason: row.reason, channels: Number(row.channels), amount: row.amount as Amount, fee: row.fee as Amount, createdAtMs: Number(row.created_at_ms) }));
}

export function settlementLines(db: Db, id: string): { account: string; amount: Amount }[] {
  return (statement(db, 'SELECT account, amount FROM settlement_lines WHERE settlement = ? ORDER BY account').all(id) as { account: string; amount: bigint }[]).map((row) => ({ account: row.account, amount: row.amount as Amount }));
}
