// The alarms panel: counters of attacks and faults since the broker started (a tile turns red
// once its count is above zero) and the recent incidents, newest first, each naming its device.
import { h, fill } from './dom.js';
import { timeOfDay } from './format.js';
import { deviceLink } from './links.js';
import type { AlarmCounts, OpsAlarm } from './view-types.js';

const KIND_TEXT: Record<OpsAlarm['kind'], string> = {
  'auth.failure': 'login refused',
  'acl.violation': 'ACL violation',
  'voucher.rejected': 'voucher rejected',
  'double-sign': 'double-signed',
  'client.dropped': 'slow client dropped',
  'packet.oversized': 'oversized packet',
  'storage.fault': 'storage fault',
  'storage.locked': 'ledger locked',
};

export const ALARM_ITEMS_SHOWN = 30;

const sum = (values: Record<string, number>): number => Object.values(values).reduce((total, value) => total + value, 0);

function tile(key: string, label: string, value: number, sub: string): HTMLElement {
  return h('div', { class: value > 0 ? 'alarm-tile hot' : 'alarm-tile', 'data-alarm': key }, h('div', { class: 'label' }, label), h('div', { class: 'value', 'data-value': String(value) }, value.toLocaleString('en-US')), h('div', { class: 'sub' }, sub));
}

function byCode(counts: AlarmCounts): string {
  const entries = Object.entries(counts.vouchersRejected).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? 'none' : entries.slice(0, 3).map(([code, n]) => `${code} ${n}`).join(' · ');
}

export function renderAlarmCounts(container: HTMLElement, counts: AlarmCounts | null): void {
  if (counts === null) return fill(container);
  fill(
    container,
    tile('auth', 'Login refused', counts.authFailures, 'bad or replayed tokens'),
    tile('acl', 'ACL violations', counts.aclViolations, 'publish or subscribe outside its own topics'),
    tile('rejected', 'Vouchers rejected', sum(counts.vouchersRejected), byCode(counts)),
    tile('double-sign', 'Double-signs', counts.doubleSigns, 'two totals for one seq'),
    tile('dropped', 'Clients dropped', counts.clientsDropped + counts.packetsOversized, `${counts.clientsDropped} slow · ${counts.packetsOversized} oversized`),
    tile('storage', 'Storage faults', counts.storageFaults + counts.storageLocked, `${counts.storageFaults} disk · ${counts.storageLocked} locked`),
  );
}

export function renderAlarmList(list: HTMLElement, alarms: readonly OpsAlarm[]): void {
  if (alarms.length === 0) return fill(list, h('li', { class: 'empty-note' }, 'No alarms since the broker started.'));
  fill(
    list,
    ...alarms.slice(0, ALARM_ITEMS_SHOWN).map((alarm) =>
      h('li', { 'data-alarm-kind': alarm.kind },
        h('span', { class: 'mono' }, timeOfDay(alarm.atMs)),
        h('span', { class: 'tag tag-disabled' }, KIND_TEXT[alarm.kind]),
        h('span', { class: 'detail' }, alarm.client === null ? '' : deviceLink(alarm.client), alarm.code === null ? '' : ` ${alarm.code}`, alarm.detail === null ? '' : ` · ${alarm.detail}`)),
    ),
  );
}
