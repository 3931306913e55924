// Live counters of a run, as the devices see it. The final voucher counts come from the
// agents' own stores at the end (see verdict/voucher-counts.ts); these feed the progress line and the
// summary (what was bought, what failed and why).
import { addAmount, ZERO, type Amount } from '../../shared/amount.js';
import type { SellerKind } from '../plan/kinds.js';

export class CodeCounts {
  readonly counts = new Map<string, number>();

  add(code: string): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
  }

  get total(): number {
    let total = 0;
    for (const count of this.counts.values()) total += count;
    return total;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}

export interface Sales {
  payments: number;
  amount: Amount;
}

/** Payments delivered per second over a sliding window (in 250 ms buckets), for the progress line. */
export class RateWindow {
  private static readonly BUCKET_MS = 250;
  private readonly buckets: { startMs: number; count: number }[] = [];

  constructor(private readonly windowMs: number) {}

  add(nowMs: number, count = 1): void {
    const startMs = nowMs - (nowMs % RateWindow.BUCKET_MS);
    const last = this.buckets[this.buckets.length - 1];
    if (last !== undefined && last.startMs === startMs) last.count += count;
    else this.buckets.push({ startMs, count });
  }

  perSecond(nowMs: number): number {
    while (this.buckets.length > 0 && (this.buckets[0]?.startMs ?? 0) <= nowMs - this.windowMs) this.buckets.shift();
    const count = this.buckets.reduce((sum, bucket) => sum + bucket.count, 0);
    return (count * 1000) / this.windowMs;
  }
}

export class SimMetrics {
  /** One-off payments signed by honest buyers, and how they ended. */
  paymentsSigned = 0;
  paymentsAccepted = 0;
  readonly paymentsRejected = new CodeCounts();
  /** Payments not even signed (no channel could be opened, no funds...). */
  readonly paymentsNotSigned = new CodeCounts();
  receiptsReceived = 0;
  readonly receiptsMissing = new CodeCounts();
  streamsStarted = 0;
  streamsCompleted = 0;
  readonly streamsInterrupted = new CodeCounts();
  /** Payments received by honest sellers (each one a voucher the service accepted and forwarded). */
  readonly sales = new Map<SellerKind, Sales>();
  readonly delivered = new RateWindow(5_000);
  brokerKills = 0;
  workerKills = 0;
  nodeStops = 0;
  postgresRestarts = 0;
  drops = 0;
  /** What the agents logged as errors and warnings, by message. */
  readonly agentErrors = new CodeCounts();
  readonly agentWarnings = new CodeCounts();
  /** Per seller: what it was paid (a charger's energy is this over its price per Wh). */
  readonly paidTo = new Map<string, Amount>();

  sale(seller: { readonly id: string; readonly kind: SellerKind }, amount: Amount, nowMs: number): void {
    const current = this.sales.get(seller.kind) ?? { payments: 0, amount: ZERO };
    this.sales.set(seller.kind, { payments: current.payments + 1, amount: addAmount(current.amount, amount) });
    this.paidTo.set(seller.id, addAmount(this.paidTo.get(seller.id) ?? ZERO, amount));
    this.delivered.add(nowMs);
  }
}

export const codeOf = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'ERROR';
};
