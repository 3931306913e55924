// Sellers' current offers (payee-signed, shared/offer.ts): one row per seller, kept so the service
// serves them again after a restart. The row is replaced only by a strictly newer issue time; the
// change count says whether it was.
import { statement } from '../../../sqlite/statement.js';
import type { Db } from './open-database.js';
import type { StoredOffer } from '../port.js';

interface RawOffer { seller: string; offer: Buffer; signature: Buffer; issued_at_ms: bigint; expires_at_s: bigint; stored_at_ms: bigint }

function toStoredOffer(row: RawOffer): StoredOffer {
  return {
    seller: row.seller, offer: new Uint8Array(row.offer), signature: new Uint8Array(row.signature),
    issuedAtMs: row.issued_at_ms, expiresAtSeconds: row.expires_at_s, storedAtMs: Number(row.stored_at_ms),
  };
}

/** Stores the offer unless the seller's stored one is as new or newer; true when it was stored. */
export function putOffer(db: Db, offer: StoredOffer): boolean {
  const changed = statement(
    db,
    `INSERT INTO offers (seller, offer, signature, issued_at_ms, expires_at_s, stored_at_ms) VALUES (@seller, @offer, @signature, @issued, @expires, @stored)
     ON CONFLICT (seller) DO UPDATE SET offer = excluded.offer, signature = excluded.signature, issued_at_ms = excluded.issued_at_ms,
       expires_at_s = excluded.expires_at_s, stored_at_ms = excluded.stored_at_ms
     WHERE excluded.issued_at_ms > offers.issued_at_ms`,
  ).run({ seller: offer.seller, offer: offer.offer, signature: offer.signature, issued: offer.issuedAtMs, expires: offer.expiresAtSeconds, stored: BigInt(offer.storedAtMs) }).changes;
  return changed === 1;
}

export function offerOf(db: Db, seller: string): StoredOffer | null {
  const row = statement(db, 'SELECT seller, offer, signature, issued_at_ms, expires_at_s, stored_at_ms FROM offers WHERE seller = ?').get(seller) as RawOffer | undefined;
  return row === undefined ? null : toStoredOffer(row);
}

/** Offers of active sellers still valid after `nowSeconds`, a page at a time in seller order. */
export function currentOffers(db: Db, nowSeconds: bigint, afterSeller: string, limit: number): StoredOffer[] {
  const rows = statement(
    db,
    `SELECT o.seller, o.offer, o.signature, o.issued_at_ms, o.expires_at_s, o.stored_at_ms FROM offers o JOIN devices d ON d.id = o.seller
     WHERE o.expires_at_s > ? AND o.seller > ? AND d.status = 'active' ORDER BY o.seller LIMIT ?`,
  ).all(nowSeconds, afterSeller, BigInt(limit)) as RawOffer[];
  return rows.map(toStoredOffer);
}

/** Deletes offers expired by `nowSeconds` (at most `limit`); returns their sellers. */
export function deleteExpiredOffers(db: Db, nowSeconds: bigint, limit: number): string[] {
  const rows = statement(
    db,
    'DELETE FROM offers WHERE seller IN (SELECT seller FROM offers WHERE expires_at_s <= ? ORDER BY expires_at_s LIMIT ?) RETURNING seller',
  ).all(nowSeconds, BigInt(limit)) as { seller: string }[];
  return rows.map((row) => row.seller);
}

