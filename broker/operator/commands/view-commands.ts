// Operator views: `mqpay devices`, `mqpay wallets`, `mqpay channels`, `mqpay settlements`, each
// as a table or --json, from the data directory (--data) or a running broker (--url --token).
// `mqpay settlements --watch` then follows new settlements as they are committed.
import { integerOption, type Command, type CommandInput } from '../../../cli/command.js';
import { PAGE_LIMIT_MAX } from '../../limits.js';
import type { SettlementDetailView } from '../http/resource-views.js';
import { chooseSource, openViewSource, viewSourceOptions } from './view-source.js';
import type { PageRequest, ViewPage, ViewSource } from './view-source-types.js';
import { channelsTable, devicesTable, settlementLine, settlementsTable, walletsTable } from './view-tables.js';
import { watchBroker, watchDataDir } from './settlement-watch.js';

const listOptions = {
  ...viewSourceOptions,
  json: { type: 'boolean', description: 'print JSON ({ items, nextOffset })' },
  limit: { type: 'string', description: `how many, 1-${PAGE_LIMIT_MAX}`, default: '50' },
  offset: { type: 'string', description: 'skip this many', default: '0' },
} as const;

function pageRequest(input: CommandInput): PageRequest {
  return { limit: integerOption(input, 'limit', 1, PAGE_LIMIT_MAX) ?? 50, offset: integerOption(input, 'offset', 0, 1_000_000) ?? 0 };
}

/** Runs one list view: fetch a page, print it as JSON or as a table (with a hint when more exist). */
async function listView<T>(input: CommandInput, fetchPage: (source: ViewSource, page: PageRequest) => Promise<ViewPage<T>>, render: (items: readonly T[]) => string, empty: string): Promise<number> {
  const page = pageRequest(input);
  const source = openViewSource(input);
  try {
    const result = await fetchPage(source, page);
    if (input.values.json === true) input.stdout(JSON.stringify({ items: result.items, nextOffset: result.nextOffset }, null, 2));
    else input.stdout(result.items.length === 0 ? empty : render(result.items));
    if (input.values.json !== true && result.nextOffset !== null) input.stdout(`(more: --offset ${result.nextOffset})`);
    return 0;
  } finally {
    source.close();
  }
}

export const devicesCommand: Command = {
  name: ['devices'], summary: 'list enrolled devices (session online/offline needs --url)', positionals: [], options: listOptions,
  run: (input) => listView(input, (source, page) => source.devices(page), devicesTable, 'no devices enrolled'),
};

/** `mqpay device list`: the same view under the `device` group, beside `device add`. */
export const deviceListCommand: Command = { ...devicesCommand, name: ['device', 'list'], summary: 'list enrolled devices (same as `mqpay devices`)' };

export const walletsCommand: Command = {
  name: ['wallets'], summary: 'list wallet balances', positionals: [], options: listOptions,
  run: (input) => listView(input, (source, page) => source.wallets(page), walletsTable, 'no wallets'),
};

export const channelsCommand: Command = {
  name: ['channels'], summary: 'list payment channels, newest first', positionals: [], options: listOptions,
  run: (input) => listView(input, (source, page) => source.channels(page), channelsTable, 'no channels'),
};

/** `mqpay channel list`: the same view under the `channel` group, beside `channel close` and `channel evidence`. */
export const channelListCommand: Command = { ...channelsCommand, name: ['channel', 'list'], summary: 'list payment channels, newest first (same as `mqpay channels`)' };

async function watch(input: CommandInput): Promise<number> {
  const json = input.values.json === true;
  const print = (settlement: SettlementDetailView) => input.stdout(json ? JSON.stringify(settlement) : settlementLine(settlement));
  const source = chooseSource(input);
  if (source.kind === 'url') await watchBroker(source.base, source.token, print, input.stderr, input.io.untilStopped);
  else await watchDataDir(source.dataDir, print, input.stderr, input.io.untilStopped);
  return 0;
}

export const settlementsCommand: Command = {
  name: ['settlements'],
  summary: 'list settlements, newest first; --watch follows new ones',
  positionals: [],
  options: { ...listOptions, limit: { ...listOptions.limit, default: '20' }, watch: { type: 'boolean', description: 'after the list, print each new settlement as it is committed (with --json: one JSON object per line, no list)' } },
  async run(input) {
    if (input.values.watch === true && input.values.json === true) return watch(input);
    const code = await listView(input, (source, page) => source.settlements(page), settlementsTable, 'no settlements yet');
    return input.values.watch === true ? watch(input) : code;
  },
};

export const viewCommands: Command[] = [devicesCommand, deviceListCommand, walletsCommand, channelsCommand, channelListCommand, settlementsCommand];
