// Where the CLI views and admin commands act: the data directory's SQLite file directly (--data),
// or a running broker's operator API (--url, with --token or $MQPAY_OPERATOR_TOKEN). Both answer
// the API's JSON views, so every command prints the same either way. This is the one place that
// reads those three flags.
import { pathOf, UsageError, type CommandInput } from '../../../cli/command.js';
import type { Db } from '../../store/sqlite/open-database.js';
import { apiCaller, apiSource, type ApiCaller } from './view-source-api.js';
import { dataSource, withLedger } from './view-source-data.js';
import type { ViewSource } from './view-source-types.js';

export const viewSourceOptions = {
  data: { type: 'string', description: 'broker data directory (reads SQLite directly)' },
  url: { type: 'string', description: "a running broker's HTTP address, e.g. http://127.0.0.1:8080 (instead of --data)" },
  token: { type: 'string', description: 'operator token for --url (else $MQPAY_OPERATOR_TOKEN)' },
} as const;

/** The same flags for the commands that write: --data writes the ledger file, --url asks the broker. */
export const adminSourceOptions = {
  ...viewSourceOptions,
  data: { type: 'string', description: 'broker data directory (writes the SQLite ledger directly; safe while the broker runs)' },
} as const;

/** For the commands only a running broker can carry out (settle, force-close): no --data. */
export const apiOnlyOptions = {
  url: { type: 'string', description: "the running broker's HTTP address, e.g. http://127.0.0.1:8080 (required: only the running broker can do this)" },
  token: viewSourceOptions.token,
} as const;

export type SourceChoice = { readonly kind: 'url'; readonly base: string; readonly token: string } | { readonly kind: 'data'; readonly dataDir: string };

/** Which source the flags name: exactly one of --data and --url (with a token). */
export function chooseSource(input: CommandInput): SourceChoice {
  const url = input.values.url;
  const data = input.values.data;
  if (typeof url === 'string' && typeof data === 'string') throw new UsageError('give --data or --url, not both');
  if (typeof url === 'string') return { kind: 'url', base: baseUrlOf(url), token: operatorToken(input) };
  if (typeof data === 'string') return { kind: 'data', dataDir: pathOf(input, 'data', data) };
  throw new UsageError('--data DIR or --url http://HOST:PORT is required');
}

/** The running broker's API, for the commands that only it can carry out (`why` says so). */
export function requireApi(input: CommandInput, why: string): ApiCaller {
  const url = input.values.url;
  if (typeof url !== 'string') throw new UsageError(`${why}: give --url http://HOST:PORT (and --token)`);
  return apiCaller(baseUrlOf(url), operatorToken(input));
}

export function openViewSource(input: CommandInput): ViewSource {
  const choice = chooseSource(input);
  return choice.kind === 'url' ? apiSource(choice.base, choice.token) : dataSource(choice.dataDir);
}

/**
 * How one admin command acts on each source; `create` lets --data start a new ledger (--init),
 * `currency` is what a new ledger gets or an existing one must keep [docs/DESIGN.md rule 13].
 */
export interface AdminWays<T> {
  readonly data: (db: Db) => T;
  readonly url: (api: ApiCaller) => Promise<T>;
  readonly create?: boolean;
  readonly currency?: string;
}

/** Runs an admin command against the source its flags name. */
export async function onSource<T>(input: CommandInput, ways: AdminWays<T>): Promise<T> {
  const choice = chooseSource(input);
  if (choice.kind === 'url') return ways.url(apiCaller(choice.base, choice.token));
  return withLedger(choice.dataDir, ways.create === true, ways.data, ways.currency === undefined ? {} : { currency: ways.currency });
}

function baseUrlOf(url: string): string {
  if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`--url must be the broker's HTTP address, e.g. http://127.0.0.1:8080 (got ${url})`);
  return url.replace(/\/+$/, '');
}

function operatorToken(input: CommandInput): string {
  const token = typeof input.values.token === 'string' ? input.values.token : input.io.env.MQPAY_OPERATOR_TOKEN;
  if (token === undefined || token === '') throw new UsageError('--token (or $MQPAY_OPERATOR_TOKEN) is required with --url');
  return token;
}
