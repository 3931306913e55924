// Draws one time-series chart as inline SVG: horizontal grid with round y ticks, time labels,
// and a line (or step line, for running totals) with a filled area under it.
import { areaPath, linearScale, linePath, niceTicks, stepPath, type Box, type Point } from './chart-math.js';
import { fill, s } from './dom.js';

export interface ChartSpec {
  readonly points: readonly Point[];
  readonly fromMs: number;
  readonly toMs: number;
  readonly kind: 'line' | 'step';
  /** CSS class suffix: series-{name} and area-{name}. */
  readonly name: string;
  readonly formatY: (value: number) => string;
  readonly empty: string;
}

const clock = (ms: number): string => new Date(ms).toTimeString().slice(0, 8);

function boxOf(svg: SVGSVGElement): Box {
  const width = Math.max(svg.clientWidth, 320);
  const height = Math.max(svg.clientHeight, 120);
  return { width, height, left: 58, right: 12, top: 10, bottom: 24 };
}

function axes(box: Box, ticks: readonly number[], sy: (v: number) => number, spec: ChartSpec): SVGElement[] {
  const nodes: SVGElement[] = [];
  for (const tick of ticks) {
    const y = sy(tick);
    nodes.push(s('line', { class: 'grid-line', x1: box.left, x2: box.width - box.right, y1: y, y2: y }));
    nodes.push(s('text', { class: 'axis-label', x: box.left - 8, y: y + 4, 'text-anchor': 'end' }, spec.formatY(tick)));
  }
  const sx = linearScale([spec.fromMs, spec.toMs], [box.left, box.width - box.right]);
  const labels = 4;
  for (let i = 0; i <= labels; i++) {
    const ms = spec.fromMs + ((spec.toMs - spec.fromMs) * i) / labels;
    const anchor = i === 0 ? 'start' : i === labels ? 'end' : 'middle';
    nodes.push(s('text', { class: 'axis-label', x: sx(ms), y: box.height - 6, 'text-anchor': anchor }, clock(ms)));
  }
  return nodes;
}

export function renderChart(svg: SVGSVGElement, spec: ChartSpec): void {
  const box = boxOf(svg);
  svg.setAttribute('viewBox', `0 0 ${box.width} ${box.height}`);
  const visible = spec.points.filter((point) => point.x >= spec.fromMs);
  const max = Math.max(0, ...visible.map((point) => point.y), ...(spec.kind === 'step' ? spec.points.map((p) => p.y) : []));
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1] ?? 1;
  const sx = linearScale([spec.fromMs, spec.toMs], [box.left, box.width - box.right]);
  const sy = linearScale([0, top], [box.height - box.bottom, box.top]);
  const nodes: SVGElement[] = axes(box, ticks, sy, spec);
  if (spec.points.length === 0) {
    nodes.push(s('text', { class: 'empty', x: (box.left + box.width) / 2, y: box.height / 2, 'text-anchor': 'middle' }, spec.empty));
    return fill(svg, ...nodes);
  }
  const line = spec.kind === 'step' ? stepPath(spec.points, sx, sy, spec.toMs) : linePath(visible, sx, sy);
  const first = spec.kind === 'step' ? spec.points[0] : visible[0];
  const lastX = spec.kind === 'step' ? spec.toMs : (visible[visible.length - 1]?.x ?? spec.toMs);
  nodes.push(s('path', { class: `area-${spec.name}`, d: areaPath(line, sx(first?.x ?? spec.fromMs), sx(lastX), sy(0)) }));
  nodes.push(s('path', { class: `series series-${spec.name}`, d: line }));
  // A dot per step (each settlement), not for the window's starting value.
  if (spec.kind === 'step') for (const point of spec.points.slice(1)) nodes.push(s('circle', { class: 'dot', cx: sx(point.x), cy: sy(point.y), r: 3 }));
  fill(svg, ...nodes);
}
