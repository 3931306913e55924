// Double-sign evidence: a payer signed two totals for one seq. The conflicting voucher is kept
// (at most DOUBLE_SIGN_EVIDENCE_PER_CHANNEL_MAX rows per channel, so a device cannot grow the
// table without bound) and the payer is flagged to operators: an ops event, a metric, and the
// channel's `doubleSigns` in the operator API [docs/DESIGN.md rule 11].
import type { Amount } from '../../../shared/amount.js';
import { toHex } from '../../../shared/hex.js';
import type { Voucher } from '../../../shared/voucher.js';
import type { ServiceDeps } from '../ports.js';
import type { Telemetry } from '../telemetry.js';
import type { UnitOfWork } from '../unit-of-work.js';
import { PROTOCOL_VERSION } from '../../../shared/schemas.js';

export interface DoubleSigned {
  readonly payer: string;
  readonly voucher: Voucher;
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly acceptedTotal: Amount;
}

/** Records the evidence as its own unit of work; reports it once a row was added. */
export async function recordDoubleSignEvidence(deps: ServiceDeps, unitOfWork: UnitOfWork, telemetry: Telemetry, evidence: DoubleSigned): Promise<void> {
  const { voucher } = evidence;
  const channel = toHex(voucher.channelId);
  deps.logger.warn({ channel, payer: evidence.payer, seq: voucher.seq.toString() }, 'double-signed voucher recorded as evidence');
  const nowMs = deps.clock.nowMs();
  await unitOfWork.commit(async (work) => {
    const added = await work.tx.recordDoubleSign({ channel: voucher.channelId, seq: voucher.seq, acceptedTotal: evidence.acceptedTotal, conflictingTotal: voucher.total, voucher: evidence.bytes, signature: evidence.signature, nowMs });
    if (!added) return;
    work.afterCommit(() => {
      telemetry.emit({ kind: 'double-sign', device: evidence.payer });
      telemetry.emit({ kind: 'ops.event', event: { v: PROTOCOL_VERSION, type: 'device.double-signed', device: evidence.payer, channel, seq: voucher.seq.toString(), atMs: nowMs } });
    });
  });
}
