// Evidence of a hash chain (protocol v3) [docs/DESIGN.md rule 11]: a settlement of a chain keeps
// the payer-signed checkpoint and the highest preimage revealed, and so does each channel whose
// latest is a chain. Anyone with the payer's key re-checks it: the signature over the checkpoint,
// the preimage hashing to its root in `index` hashes, and checkpoint total + index x price
// being the total the ledger paid.
import { decodeCertificate } from '../../../shared/certificate.js';
import { checkpointTotalAt, decodeCheckpoint } from '../../../shared/checkpoint.js';
import { verify } from '../../../shared/crypto.js';
import { bytesEqual } from '../../../shared/hex.js';
import { chainLinkProves } from '../../../shared/tick-rules.js';
import { statement } from '../../../sqlite/statement.js';
import type { Db } from './open-database.js';

export interface ChainRow { channel_id: Buffer; seq: bigint; total: bigint; checkpoint: Buffer; signature: Buffer; tick_index: bigint; preimage: Buffer; certificate: Buffer; what: string }

/** Why a kept chain does not prove its row, or null when it does. */
export function chainProblemOf(row: ChainRow): string | null {
  let checkpoint;
  let payerKey;
  try {
    checkpoint = decodeCheckpoint(new Uint8Array(row.checkpoint));
    payerKey = decodeCertificate(new Uint8Array(row.certificate)).payerKey;
  } catch {
    return 'checkpoint or certificate does not decode';
  }
  const index = Number(row.tick_index);
  if (!bytesEqual(checkpoint.channelId, new Uint8Array(row.channel_id))) return 'checkpoint names another channel';
  if (checkpoint.seq !== row.seq) return `checkpoint says seq ${checkpoint.seq}, ledger seq ${row.seq}`;
  if (!verify(new Uint8Array(row.signature), new Uint8Array(row.checkpoint), payerKey)) return 'payer signature does not verify';
  if (!chainLinkProves(checkpoint, index, new Uint8Array(row.preimage))) return `preimage of tick ${index} does not hash to the checkpoint's root`;
  if (checkpointTotalAt(checkpoint, index) !== row.total) return `checkpoint + ${index} ticks is ${checkpointTotalAt(checkpoint, index)}, ledger total ${row.total}`;
  return null;
}

/** The kept chains to check: every settlement's, and each channel's latest (its current chain). `certificateAt` gives the certificate SQL for a revision. */
export function chainEvidenceRows(db: Db, certificateAt: (revision: string) => string): { settled: Iterable<ChainRow>; latest: Iterable<ChainRow> } {
  const settled = statement(db, `SELECT c.id AS channel_id, s.seq, s.total, s.checkpoint, s.signature, s.tick_index, s.preimage, ${certificateAt('s.revision')} AS certificate, 'settlement ' || s.settlement AS what
    FROM settlement_ticks s JOIN channels c ON c.num = s.channel JOIN certificates k ON k.channel = c.num ORDER BY s.settlement, s.channel`).iterate() as Iterable<ChainRow>;
  const latest = statement(db, `SELECT c.id AS channel_id, h.seq, c.latest_total AS total, h.checkpoint, h.signature, h.highest_index AS tick_index, h.highest_link AS preimage, ${certificateAt('h.revision')} AS certificate, 'latest chain' AS what
    FROM chains h JOIN channels c ON c.num = h.channel AND c.latest_seq = h.seq JOIN certificates k ON k.channel = c.num ORDER BY c.num`).iterate() as Iterable<ChainRow>;
  return { settled, latest };
}
