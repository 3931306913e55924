// How a bench file reports its figures to bench/run.mjs: as the LAST line of its stdout, one JSON
// object `{ "bench": name, "figures": { key: Figure } }` (printFigures writes it). Everything
// printed before it is for people. See the convention at the top of bench/run.mjs.

/** One measured figure; a goal is a ratio or a bound checked in the same run. */
export interface Figure {
  readonly value: number | string | boolean;
  /** Unit, words in full: 'vouchers/s', 'ms', 'MB', 'ratio'. */
  readonly unit: string;
  /** What the figure is measured against or made of, in words (for a ratio: its denominator). */
  readonly reference?: string;
  /** The goal, as `>= 0.8`, `<= 1.5` or `< 300`: run.mjs checks it and lists it under goals. */
  readonly goal?: string;
}

export type Figures = Record<string, Figure>;

/** Prints the figures as the last line of stdout, for bench/run.mjs. */
export function printFigures(bench: string, figures: Figures): void {
  console.log(JSON.stringify({ bench, figures }));
}

export const round = (value: number, digits = 3): number => Number(value.toFixed(digits));
