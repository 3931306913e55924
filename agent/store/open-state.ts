// Opens (and migrates) the agent's SQLite file. WAL so `mqpay agent status` can read while the
// agent writes; synchronous=FULL by default because a seq must be on disk before a voucher
// using it is published, or a power cut could make the agent sign a second total for a seq the
// service already has (the vouchers inside a reserved block commit without an fsync,
// [docs/DESIGN.md rule 5]);
// safeIntegers so every INTEGER comes back as a bigint and no amount passes through a float.
import type Database from 'better-sqlite3';
import { openSqlite } from '../../sqlite/open.js';
import { STATE_CACHE_KIB } from '../limits.js';
import { AGENT_MIGRATIONS } from './migrations.js';

export type StateDb = Database.Database;
export function openState(path: string, options: { readonly?: boolean } = {}): StateDb {
  return openSqlite(path, { migrations: AGENT_MIGRATIONS, what: 'agent state', readonly: options.readonly ?? false, cacheKib: STATE_CACHE_KIB });
}
