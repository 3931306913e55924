// Stored request answers (exactly once per device and request id): the primary key refuses a
// second answer, and each device keeps only its `keepPerDevice` most recent ones for retries.
import { assert } from '../../../shared/errors.js';
import type { StoredAnswer } from '../port.js';
import { changesOf, rowOf, type Queryable } from './pool.js';

export function storedAnswer(q: Queryable, device: string, id: string): Promise<StoredAnswer | null> {
  return rowOf<StoredAnswer>(q, 'SELECT digest, response FROM requests WHERE device = $1 AND id = $2', [device, id]);
}

export async function storeAnswer(q: Queryable, device: string, id: string, method: string, answer: StoredAnswer, nowMs: number, keepPerDevice: number): Promise<void> {
  const inserted = await changesOf(q, 'INSERT INTO requests (device, id, method, digest, response, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)',
    [device, id, method, answer.digest, answer.response, nowMs]);
  assert(inserted === 1, 'one answer stored per request');
  await q.query(`DELETE FROM requests WHERE device = $1 AND id NOT IN
      (SELECT id FROM requests WHERE device = $1 ORDER BY created_at_ms DESC, id DESC LIMIT $2)`, [device, keepPerDevice]);
}
