// Small named values of the agent's state (the trusted service key, learned on first use).
import type { StateDb } from './open-state.js';
import { statement } from './statement.js';

export function getMeta(db: StateDb, key: string): string | null {
  const row = statement(db, 'SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row === undefined ? null : row.value;
}

export function setMeta(db: StateDb, key: string, value: string): void {
  statement(db, 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}
