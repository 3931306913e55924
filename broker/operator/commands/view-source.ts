// Where the CLI views read from: the data directory's SQLite file directly (--data), or a
// running broker's operator API (--url, with --token or $MQPAY_OPERATOR_TOKEN). Both answer the
// API's JSON views, so every view prints the same either way.
import { resolve } from 'node:path';
import { UsageError, type CommandInput } from '../../../cli/command.js';
import { apiSource } from './view-source-api.js';
import { dataSource } from './view-source-data.js';
import type { ViewSource } from './view-source-types.js';

export const viewSourceOptions = {
  data: { type: 'string', description: 'broker data directory (reads SQLite directly)' },
  url: { type: 'string', description: "a running broker's HTTP address, e.g. http://127.0.0.1:8080 (instead of --data)" },
  token: { type: 'string', description: 'operator token for --url (else $MQPAY_OPERATOR_TOKEN)' },
} as const;

export type SourceChoice = { readonly kind: 'url'; readonly base: string; readonly token: string } | { readonly kind: 'data'; readonly dataDir: string };

/** Which source the flags name: exactly one of --data and --url (with a token). */
export function chooseSource(input: CommandInput): SourceChoice {
  const url = input.values.url;
  const data = input.values.data;
  if (typeof url === 'string' && typeof data === 'string') throw new UsageError('give --data or --url, not both');
  if (typeof url === 'string') return { kind: 'url', base: url.replace(/\/+$/, ''), token: operatorToken(input) };
  if (typeof data === 'string') return { kind: 'data', dataDir: resolve(input.io.cwd, data) };
  throw new UsageError('--data DIR or --url http://HOST:PORT is required');
}

export function openViewSource(input: CommandInput): ViewSource {
  const choice = chooseSource(input);
  return choice.kind === 'url' ? apiSource(choice.base, choice.token) : dataSource(choice.dataDir);
}

function operatorToken(input: CommandInput): string {
  const token = typeof input.values.token === 'string' ? input.values.token : input.io.env.MQPAY_OPERATOR_TOKEN;
  if (token === undefined || token === '') throw new UsageError('--token (or $MQPAY_OPERATOR_TOKEN) is required with --url');
  return token;
}
