// Pure geometry for the dashboard's SVG charts (no DOM): linear scales, "nice" axis ticks and
// path strings. Kept apart so it can be unit-tested under Node.

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Box {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

export type Scale = (value: number) => number;

export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 === 0 ? 1 : d1 - d0;
  return (value) => r0 + ((value - d0) / span) * (r1 - r0);
}

/** A round step (1, 2 or 5 times a power of ten) giving about `count` ticks from 0 to >= max. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let value = 0; value < max + step; value += step) ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

const fixed = (value: number): string => (Math.round(value * 10) / 10).toString();

/** "M x y L x y ..." through the points. */
export function linePath(points: readonly Point[], sx: Scale, sy: Scale): string {
  return points.map((point, i) => `${i === 0 ? 'M' : 'L'}${fixed(sx(point.x))} ${fixed(sy(point.y))}`).join(' ');
}

/** A step line: each value holds until the next point (cumulative totals). */
export function stepPath(points: readonly Point[], sx: Scale, sy: Scale, untilX: number): string {
  if (points.length === 0) return '';
  const parts: string[] = [];
  points.forEach((point, i) => {
    const previous = points[i - 1];
    if (previous !== undefined) parts.push(`L${fixed(sx(point.x))} ${fixed(sy(previous.y))}`);
    parts.push(`${i === 0 ? 'M' : 'L'}${fixed(sx(point.x))} ${fixed(sy(point.y))}`);
  });
  const last = points[points.length - 1] as Point;
  parts.push(`L${fixed(sx(untilX))} ${fixed(sy(last.y))}`);
  return parts.join(' ');
}

/** Closes a line path down to the baseline, for a filled area under it. */
export function areaPath(line: string, fromX: number, toX: number, baselineY: number): string {
  if (line === '') return '';
  return `${line} L${fixed(toX)} ${fixed(baselineY)} L${fixed(fromX)} ${fixed(baselineY)} Z`;
}

/**
 * A running total seen from `fromMs`: it starts there with the total reached by then (0 when
 * nothing came before), so the chart shows each step up.
 */
export function clipStep(points: readonly Point[], fromMs: number): Point[] {
  if (points.length === 0) return [];
  const before = points.filter((point) => point.x < fromMs);
  const after = points.filter((point) => point.x >= fromMs);
  return [{ x: fromMs, y: before[before.length - 1]?.y ?? 0 }, ...after];
}

/** Start of a chart window: the earliest data (less a margin), within [now - maxSpan, now - minSpan]. */
export function windowStart(nowMs: number, earliestMs: number | undefined, minSpanMs: number, maxSpanMs: number): number {
  const wanted = earliestMs === undefined ? nowMs - minSpanMs : earliestMs - minSpanMs / 12;
  return Math.min(nowMs - minSpanMs, Math.max(nowMs - maxSpanMs, wanted));
}
