// The progress line on stderr: a bar redrawn in place when stderr is a terminal, plain lines
// every few seconds when it is not (CI logs, files).
import { formatAmount, type Amount } from '../../shared/amount.js';

export interface ProgressSnapshot {
  readonly elapsedMs: number;
  /** Infinity for the endless demo. */
  readonly durationMs: number;
  readonly vouchersPerSecond: number;
  readonly settled: Amount;
  readonly settlements: number;
  readonly online: number;
  readonly devices: number;
  readonly brokerUp: boolean;
  /** What the line says while the service is not up (default: BROKER DOWN). */
  readonly downLabel?: string;
  readonly attacksTried: number;
  readonly attacksRejected: number;
}

const BAR_WIDTH = 24;
/** Without a terminal, one line this often. */
export const PLAIN_EVERY_MS = 5_000;

function bar(fraction: number): string {
  const filled = Math.max(0, Math.min(BAR_WIDTH, Math.round(fraction * BAR_WIDTH)));
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
}

export function progressText(s: ProgressSnapshot): string {
  const elapsed = Math.floor(s.elapsedMs / 1000);
  const time = Number.isFinite(s.durationMs) ? `${bar(s.elapsedMs / s.durationMs)} ${elapsed}/${Math.round(s.durationMs / 1000)} s` : `${elapsed} s`;
  const broker = s.brokerUp ? '' : `  ${s.downLabel ?? 'BROKER DOWN'}`;
  return `${time}  ${s.vouchersPerSecond.toFixed(0).padStart(5)} vouchers/s  settled ${formatAmount(s.settled)} in ${s.settlements}  online ${s.online}/${s.devices}  attacks ${s.attacksRejected}/${s.attacksTried} rejected${broker}`;
}

export class Progress {
  private lastPlainMs = -Infinity;
  private drawn = false;

  constructor(private readonly write: (text: string) => void, private readonly isTty: boolean) {}

  update(snapshot: ProgressSnapshot): void {
    if (this.isTty) {
      this.write(`\r${progressText(snapshot)}\x1b[K`);
      this.drawn = true;
      return;
    }
    if (snapshot.elapsedMs - this.lastPlainMs < PLAIN_EVERY_MS) return;
    this.lastPlainMs = snapshot.elapsedMs;
    this.write(`${progressText(snapshot)}\n`);
  }

  /** Ends the redrawn line so what follows starts on a fresh one. */
  finish(): void {
    if (this.drawn) this.write('\n');
    this.drawn = false;
  }
}
