// `mqpay device limits NAME [--max-per-payment A] [--max-per-hour A] [--max-per-day A]
// [--allow-payee P ...] [--clear FIELD ...]`: shows, or changes, a device's server-side spending
// limits [docs/DESIGN.md rule 12]. Through a running broker (--url: GET and PUT
// /api/devices/{id}/limits) or straight in the ledger (--data: a pure ledger write, which the
// running broker sees at once since the service reads limits from the store on every use).
import { formatAmount, parseAmount } from '../../../shared/amount.js';
import { MqpayError } from '../../../shared/errors.js';
import { checkDeviceId } from '../../../shared/ids.js';
import { UsageError, type Command, type CommandInput } from '../../../cli/command.js';
import { ALLOW_PAYEES_MAX } from '../../limits.js';
import { limitOrderProblem } from '../../service/spending/spending-guard.js';
import { getDevice } from '../../store/sqlite/devices.js';
import { getDeviceLimits, setDeviceLimitsNow } from '../../store/sqlite/device-limits.js';
import { limitsOfView, viewLimits, type DeviceLimitsView, type LimitsView } from '../http/limits-view.js';
import type { Db } from '../../store/sqlite/open-database.js';
import type { ApiCaller } from './view-source-api.js';
import { adminSourceOptions, onSource } from './view-source.js';

const AMOUNT_FLAGS = { 'max-per-payment': 'maxPerPayment', 'max-per-hour': 'maxPerHour', 'max-per-day': 'maxPerDay' } as const;
type AmountFlag = keyof typeof AMOUNT_FLAGS;
const CLEARABLE = ['max-per-payment', 'max-per-hour', 'max-per-day', 'allow-payee', 'all'] as const;

function listOf(input: CommandInput, flag: string): string[] {
  const value = input.values[flag];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
}

/** The device's own limits after the flags' changes; null when no flag asks for one. */
export function editLimits(own: LimitsView, input: CommandInput): LimitsView | null {
  const clears = listOf(input, 'clear');
  const payees = listOf(input, 'allow-payee');
  const setters = (Object.keys(AMOUNT_FLAGS) as AmountFlag[]).filter((flag) => typeof input.values[flag] === 'string');
  if (clears.length === 0 && payees.length === 0 && setters.length === 0) return null;
  for (const clear of clears) if (!(CLEARABLE as readonly string[]).includes(clear)) throw new UsageError(`--clear takes one of ${CLEARABLE.join(', ')}`);
  const edited: { -readonly [K in keyof LimitsView]: LimitsView[K] } = { ...own };
  for (const flag of Object.keys(AMOUNT_FLAGS) as AmountFlag[]) if (clears.includes(flag) || clears.includes('all')) edited[AMOUNT_FLAGS[flag]] = null;
  if (clears.includes('allow-payee') || clears.includes('all')) edited.allowPayees = null;
  for (const flag of setters) {
    if (clears.includes(flag) || clears.includes('all')) throw new UsageError(`--${flag} and --clear ${clears.includes(flag) ? flag : 'all'} contradict each other`);
    const amount = parseAmount(input.values[flag] as string);
    if (amount === 0n) throw new UsageError(`--${flag} must be greater than zero (to remove the limit: --clear ${flag})`);
    edited[AMOUNT_FLAGS[flag]] = formatAmount(amount);
  }
  if (payees.length > 0) {
    if (clears.includes('allow-payee') || clears.includes('all')) throw new UsageError('--allow-payee and --clear allow-payee contradict each other');
    if (payees.length > ALLOW_PAYEES_MAX) throw new UsageError(`at most ${ALLOW_PAYEES_MAX} --allow-payee`);
    edited.allowPayees = [...new Set(payees.map((payee) => checkDeviceId(payee)))];
  }
  return edited;
}

const FIELDS: readonly [string, keyof Omit<LimitsView, 'allowPayees'>][] = [['max-per-payment', 'maxPerPayment'], ['max-per-hour', 'maxPerHour'], ['max-per-day', 'maxPerDay']];

/** The limits as lines: each with where it comes from (own, or the broker's default). */
export function limitsLines(device: string, own: LimitsView, defaults: LimitsView | null): string[] {
  const lines = [`device ${device}: server-side spending limits`];
  for (const [name, field] of FIELDS) {
    const mine = own[field];
    const fallback = defaults === null ? 'broker default (--device-' + name + ' of the running broker, if given)' : defaults[field] === null ? 'none' : `${defaults[field]} (broker default)`;
    lines.push(`  ${name.padEnd(16)}${mine === null ? fallback : `${mine} (own)`}`);
  }
  lines.push(`  ${'allow-payee'.padEnd(16)}${own.allowPayees === null ? 'any payee' : own.allowPayees.join(', ')}`);
  return lines;
}

/** What the command prints: the API's full view, or (--data) the device's own limits alone. */
type Shown = { readonly device: string; readonly own: LimitsView; readonly defaults?: LimitsView };

async function viaApi(input: CommandInput, api: ApiCaller, device: string): Promise<DeviceLimitsView> {
  const path = `/api/devices/${encodeURIComponent(device)}/limits`;
  const current = await api.get<DeviceLimitsView>(path);
  const edited = editLimits(current.own, input);
  return edited === null ? current : api.put<DeviceLimitsView>(path, edited);
}

function viaData(input: CommandInput, db: Db, device: string): Shown {
  if (getDevice(db, device) === null) throw new MqpayError('DEVICE_UNKNOWN', device);
  const edited = editLimits(viewLimits(getDeviceLimits(db, device)), input);
  if (edited !== null) {
    const limits = limitsOfView(edited);
    const problem = limitOrderProblem(limits);
    if (problem !== null) throw new MqpayError('MESSAGE_INVALID', problem);
    setDeviceLimitsNow(db, device, limits, Date.now());
  }
  return { device, own: viewLimits(getDeviceLimits(db, device)) };
}

export const deviceLimitsCommand: Command = {
  name: ['device', 'limits'],
  summary: "show or set a device's server-side spending limits (enforced by the service, whatever the device's own policy)",
  positionals: ['NAME'],
  options: {
    ...adminSourceOptions,
    'max-per-payment': { type: 'string', description: 'most one voucher may raise a channel total by, e.g. 0.5' },
    'max-per-hour': { type: 'string', description: 'most the device may spend over the last hour (rolling)' },
    'max-per-day': { type: 'string', description: 'most the device may spend over the last day (rolling); also the most a channel may hold unspent' },
    'allow-payee': { type: 'string', multiple: true, description: 'the only payees allowed (repeat; replaces the list)' },
    clear: { type: 'string', multiple: true, description: `remove the device's own limit (the broker default applies): ${CLEARABLE.join('|')} (repeat)` },
    json: { type: 'boolean', description: 'print the limits as JSON' },
  },
  async run(input) {
    const [name = ''] = input.positionals;
    const device = checkDeviceId(name);
    const view: Shown = await onSource<Shown>(input, { data: (db) => viaData(input, db, device), url: (api) => viaApi(input, api, device) });
    if (input.values.json === true) input.stdout(JSON.stringify(view, null, 2));
    else for (const line of limitsLines(device, view.own, view.defaults ?? null)) input.stdout(line);
    return 0;
  },
};
