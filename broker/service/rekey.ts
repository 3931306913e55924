// Replaces a device's key in one unit of work [docs/DESIGN.md rule 12], for a device's own
// rotation (`device.rotate`, signed by the old and the new key) and an operator's re-key of a
// lost device: the new key is checked as at enrolment and must be one no device ever had; every
// open channel where the device is payer or payee gets its certificate re-issued (next revision,
// the new key in it, the replaced certificate kept as evidence) and sent to both parties; the
// channel cache learns the new payer key only once all of it has committed.
import { decodeStoredCertificate } from '../../shared/certificate.js';
import { MqpayError } from '../../shared/errors.js';
import { checkPublicKey } from '../../shared/keys.js';
import { PROTOCOL_VERSION } from '../../shared/schemas.js';
import type { ChannelRow } from '../store/port.js';
import { REKEY_CHANNELS_MAX } from '../limits.js';
import { issueCertificate } from './rpc/certificate-issue.js';
import type { RpcContext } from './rpc/context.js';

export type RekeyedBy = 'device' | 'operator';

/** Re-issues one channel's certificate with the device's new key on its side, and queues it for both parties. */
async function reissue(ctx: RpcContext, row: ChannelRow, device: string, newKey: Uint8Array): Promise<void> {
  // From the certificate itself, so every field it carries is kept as it was (one issued before
  // the ledger had a currency too: the re-issue names the ledger's [docs/DESIGN.md rule 13]).
  const previous = decodeStoredCertificate(row.certificate);
  const revision = row.revision + 1;
  const certificate = {
    ...previous,
    payerKey: row.payer === device ? newKey : previous.payerKey,
    payeeKey: row.payee === device ? newKey : previous.payeeKey,
    revision,
  };
  const signed = issueCertificate(ctx, certificate, [row.payee, row.payer]);
  await ctx.work.tx.reissueCertificate(row.num, revision, signed.bytes, signed.signature);
}

/**
 * Inside the caller's unit of work: replaces `currentKey` with `newKey` and re-issues the
 * certificates. Returns how many certificates were re-issued.
 */
export async function rekeyInTransaction(ctx: RpcContext, device: string, currentKey: Uint8Array, newKey: Uint8Array, by: RekeyedBy): Promise<number> {
  checkPublicKey(newKey);
  const nowMs = ctx.deps.clock.nowMs();
  await ctx.work.tx.replaceDeviceKey(device, currentKey, newKey, nowMs);
  const channels = await ctx.work.tx.openChannelsOf(device, REKEY_CHANNELS_MAX + 1);
  if (channels.length > REKEY_CHANNELS_MAX) throw new MqpayError('CHANNEL_LIMIT', `more than ${REKEY_CHANNELS_MAX} open channels to re-issue; close some first`);
  for (const row of channels) await reissue(ctx, row, device, newKey);
  ctx.work.afterCommit(() => {
    ctx.deps.verifier.forget(currentKey); // the verify caches hold the old key no longer
    for (const row of channels) if (row.payer === device) ctx.cache.update(row.id, { payerKey: newKey });
    ctx.telemetry.emit({ kind: 'ops.event', event: { v: PROTOCOL_VERSION, type: 'device.rekeyed', device, by, certificates: channels.length, atMs: nowMs } });
  });
  ctx.deps.logger.info({ device, by, certificates: channels.length }, 'device key replaced');
  return channels.length;
}
