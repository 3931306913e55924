// With a store shared by other processes (cluster workers), a cached payer key may be stale: a
// rotation or an operator's re-key committed by another worker. Signed value (a voucher, a
// checkpoint and the ticks under it) verified with a key is written only if that key is still the
// payer's, checked in the write's own savepoint [docs/DESIGN.md rule 16].
import { bytesEqual } from '../../shared/hex.js';
import { MqpayError } from '../../shared/errors.js';
import type { StoreTx } from '../store/port.js';

export async function checkPayerKey(tx: StoreTx, payer: string, verifiedWith: Uint8Array): Promise<void> {
  const row = await tx.device(payer);
  if (row === null || !bytesEqual(row.publicKey, verifiedWith)) throw new MqpayError('KEY_ROTATED', 'the payer rotated its key meanwhile');
}
