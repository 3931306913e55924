// The live settlement feed, newest first; a settlement that arrived live flashes once.
import { h, fill } from './dom.js';
import { ago, displayAmount, timeOfDay } from './format.js';
import type { FeedItem } from './view-types.js';

function describe(item: FeedItem): string {
  const lines = item.lines?.map((line) => `${line.account.replace(/^wallet:/, '')} +${displayAmount(line.amount)}`).join(', ');
  return `${item.channels} channel${item.channels === 1 ? '' : 's'}${lines === undefined || lines === '' ? '' : ` → ${lines}`}`;
}

export function renderFeed(list: HTMLElement, items: readonly FeedItem[], fresh: ReadonlySet<string>, nowMs: number): void {
  if (items.length === 0) return fill(list, h('li', { class: 'empty-note' }, 'No settlements yet. They appear here as soon as the broker commits them.'));
  fill(
    list,
    ...items.map((item) =>
      h(
        'li',
        { class: fresh.has(item.id) ? 'fresh' : undefined, 'data-settlement': item.id, title: item.id },
        h('span', { class: 'tag' }, item.reason),
        h('div', {}, h('div', { class: 'mono' }, `${timeOfDay(item.createdAtMs)} · ${ago(item.createdAtMs, nowMs)}`), h('div', { class: 'detail' }, describe(item))),
        h('span', { class: 'amount' }, `+${displayAmount(item.amount)}`),
      ),
    ),
  );
}
