// Sellers' current offers in PostgreSQL (as broker/store/sqlite/offers.ts): one row per seller,
// replaced only by a strictly newer issue time; the change count says whether it was. In the
// cluster mode this table is what serves offers, since retained messages do not cross nodes.
// Sellers page in byte order (the column is COLLATE "C"), as SQLite compares text.
import type { StoredOffer } from '../port.js';
import { bytes, changesOf, rowOf, rowsOf, type Queryable } from './pool.js';

interface RawOffer { seller: string; offer: Buffer; signature: Buffer; issued_at_ms: bigint; expires_at_s: bigint; stored_at_ms: bigint }

const toStoredOffer = (row: RawOffer): StoredOffer => ({
  seller: row.seller, offer: bytes(row.offer), signature: bytes(row.signature),
  issuedAtMs: row.issued_at_ms, expiresAtSeconds: row.expires_at_s, storedAtMs: Number(row.stored_at_ms),
});

export async function putOffer(q: Queryable, offer: StoredOffer): Promise<boolean> {
  return (await changesOf(q, `INSERT INTO offers (seller, offer, signature, issued_at_ms, expires_at_s, stored_at_ms) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (seller) DO UPDATE SET offer = excluded.offer, signature = excluded.signature, issued_at_ms = excluded.issued_at_ms,
       expires_at_s = excluded.expires_at_s, stored_at_ms = excluded.stored_at_ms
     WHERE excluded.issued_at_ms > offers.issued_at_ms`, [offer.seller, offer.offer, offer.signature, offer.issuedAtMs, offer.expiresAtSeconds, offer.storedAtMs])) === 1;
}

export async function offerOf(q: Queryable, seller: string): Promise<StoredOffer | null> {
  const row = await rowOf<RawOffer>(q, 'SELECT seller, offer, signature, issued_at_ms, expires_at_s, stored_at_ms FROM offers WHERE seller = $1', [seller]);
  return row === null ? null : toStoredOffer(row);
}

export async function currentOffers(q: Queryable, nowSeconds: bigint, afterSeller: string, limit: number): Promise<StoredOffer[]> {
  const rows = await rowsOf<RawOffer>(q, `SELECT o.seller, o.offer, o.signature, o.issued_at_ms, o.expires_at_s, o.stored_at_ms FROM offers o JOIN devices d ON d.id = o.seller
     WHERE o.expires_at_s > $1 AND o.seller > $2 AND d.status = 'active' ORDER BY o.seller LIMIT $3`, [nowSeconds, afterSeller, limit]);
  return rows.map(toStoredOffer);
}

export async function deleteExpiredOffers(q: Queryable, nowSeconds: bigint, limit: number): Promise<string[]> {
  const rows = await rowsOf<{ seller: string }>(q,
    'DELETE FROM offers WHERE seller IN (SELECT seller FROM offers WHERE expires_at_s <= $1 ORDER BY expires_at_s LIMIT $2) RETURNING seller', [nowSeconds, limit]);
  return rows.map((row) => row.seller);
}
