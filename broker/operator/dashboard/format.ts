// Display formatting for the dashboard (pure). Amounts arrive as exact decimal strings and are
// shown as such, with thousands separators; only charts turn them into floats.
import { parseAmount } from '../../../shared/amount.js';

/** "12500.5" -> "12,500.5" (exact: no float involved). */
export function displayAmount(text: string): string {
  const [whole = '0', fraction] = text.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/** Micro-units as an exact decimal, without the u64 cap of shared/amount (sums for display). */
export function formatMicro(micro: bigint): string {
  const whole = micro / 1_000_000n;
  const fraction = (micro % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return fraction === '' ? whole.toString() : `${whole}.${fraction}`;
}

/** An amount as a float of currency units, for chart geometry only. */
export function amountToNumber(text: string): number {
  return Number(parseAmount(text)) / 1e6;
}

/** Chart axis labels: 0, 12, 1.5k, 2.5M; small values keep their decimals. */
export function compactNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  if (abs >= 1 || value === 0) return Number(value.toPrecision(4)).toString();
  return Number(value.toPrecision(2)).toString();
}

export const shortId = (hex: string): string => (hex.length > 12 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex);

export function timeOfDay(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

export function ago(ms: number, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  return `${Math.floor(seconds / 3600)}h ago`;
}
