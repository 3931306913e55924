// The payee's copy of each chain it is paid by, sent again whenever it subscribes to its inbox:
// the payee writes the ticks it checks without an fsync (the service holds the durable copy), so
// after a power cut, or forwards that went nowhere while it was offline, it may hold less than the
// service accepted, or not even the checkpoint, and could check none of the chain's next ticks.
// The service sends the signed checkpoint and the highest tick it holds, as it forwarded them
// (QoS 0, `in/tick`); the payee checks them like any forward. Mirrors the receipts' redelivery to
// the payer (vouchers/receipts.ts).
import { decodeCheckpoint } from '../../../shared/checkpoint.js';
import { CHANNELS_PER_DEVICE_MAX } from '../../../shared/limits.js';
import { encodeSignedCheckpoint } from '../../../shared/tick-frames.js';
import { encodeTick } from '../../../shared/tick.js';
import { inboxTopic } from '../../../shared/topics.js';
import type { GroupCommit } from '../../../sqlite/group-commit.js';
import type { StoreTx } from '../../store/port.js';
import type { ServiceDeps } from '../ports.js';

export async function redeliverChains(deps: ServiceDeps, commits: GroupCommit<StoreTx>, payee: string): Promise<void> {
  // A tick forwarded before this subscription went nowhere; its write was queued before the
  // forward, so once the queue is committed the read below holds it.
  await commits.flush();
  const chains = await deps.store.reads.currentChainsOfPayee(payee, CHANNELS_PER_DEVICE_MAX);
  const topic = inboxTopic(payee, 'tick');
  await Promise.all(chains.map(async (chain) => {
    await deps.transport.publish(topic, encodeSignedCheckpoint(chain.checkpoint, chain.signature), { qos: 0 });
    if (chain.highestIndex === 0) return;
    const { channelId, seq } = decodeCheckpoint(chain.checkpoint);
    await deps.transport.publish(topic, encodeTick({ channelId, checkpointSeq: seq, index: chain.highestIndex, preimage: chain.highestLink }), { qos: 0 });
  }));
}
