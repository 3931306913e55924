// Voucher counts of a run, from the devices' own records: an honest agent's store says how many
// vouchers it signed per channel (seq n is its n-th voucher) and up to which seq the service
// accepted them (acceptance is cumulative); rogues count their cover payments and their
// hostile vouchers. Views of the fleet for the accepted-check come from the same records.
import type { AgentStatus } from '../../agent/index.js';
import { parseAmount } from '../../shared/amount.js';
import { toHex } from '../../shared/hex.js';
import type { RogueDevice } from '../actors/rogue-device.js';
import type { AttackOutcome } from '../attacks/attack.js';
import type { AttackKind } from '../plan/faults.js';
import type { PayeeView, PayerView } from './accepted-check.js';

export interface VoucherCounts {
  sent: number;
  accepted: number;
  /** Refused with an error code (hostile vouchers, and any honest voucher refused). */
  rejected: number;
  /** Replays of an already accepted voucher, answered as duplicates with no effect. */
  duplicates: number;
  /** Signed but never answered by the end of the run. */
  unconfirmed: number;
  /** Of those sent, the rogues' hostile vouchers (all counted above too), and how many of them were refused. */
  hostile: number;
  hostileRefused: number;
}

const VOUCHER_ATTACKS: ReadonlySet<AttackKind> = new Set(['forged-signature', 'forged-channel', 'replayed-voucher', 'replayed-old-voucher', 'double-signed', 'above-deposit']);

export function countVouchers(snapshots: ReadonlyMap<string, AgentStatus>, rogues: readonly RogueDevice[], attacks: readonly AttackOutcome[]): VoucherCounts {
  const counts: VoucherCounts = { sent: 0, accepted: 0, rejected: 0, duplicates: 0, unconfirmed: 0, hostile: 0, hostileRefused: 0 };
  for (const status of snapshots.values()) {
    for (const channel of status.paying) {
      const signed = Number(channel.signedSeq);
      const accepted = Number(channel.acceptedSeq);
      counts.sent += signed;
      counts.accepted += accepted;
      if (channel.state === 'failed') counts.rejected += signed - accepted;
      else counts.unconfirmed += signed - accepted;
    }
  }
  for (const rogue of rogues) {
    counts.sent += rogue.coverSigned;
    counts.accepted += rogue.coverAccepted;
    counts.rejected += rogue.coverRejected;
    counts.unconfirmed += rogue.coverSigned - rogue.coverAccepted - rogue.coverRejected;
  }
  for (const attack of attacks) {
    if (!VOUCHER_ATTACKS.has(attack.kind) || (attack.status !== 'rejected' && attack.status !== 'succeeded' && attack.status !== 'unanswered')) continue;
    counts.sent += 1;
    counts.hostile += 1;
    if (attack.status === 'rejected') counts.hostileRefused += 1;
    if (attack.status === 'succeeded') counts.accepted += 1;
    else if (attack.status === 'unanswered') counts.unconfirmed += 1;
    else if (attack.kind === 'replayed-old-voucher') counts.duplicates += 1;
    else counts.rejected += 1;
  }
  return counts;
}

/** What each payer (agents and rogues) recorded per channel, keyed by channel id hex. */
export function payerViews(snapshots: ReadonlyMap<string, AgentStatus>, rogues: readonly RogueDevice[]): Map<string, PayerView> {
  const views = new Map<string, PayerView>();
  for (const [device, status] of snapshots) {
    for (const channel of status.paying) {
      views.set(channel.channel, { payer: device, acceptedTotal: parseAmount(channel.acceptedTotal), signedTotal: parseAmount(channel.signedTotal) });
    }
  }
  for (const rogue of rogues) {
    if (rogue.channel !== null) views.set(toHex(rogue.channel.id), { payer: rogue.plan.id, acceptedTotal: rogue.latestTotal, signedTotal: rogue.signedMax });
  }
  return views;
}

export function payeeViews(snapshots: ReadonlyMap<string, AgentStatus>): Map<string, PayeeView> {
  const views = new Map<string, PayeeView>();
  for (const [device, status] of snapshots) {
    for (const channel of status.paid) views.set(channel.channel, { payee: device, receivedTotal: parseAmount(channel.receivedTotal) });
  }
  return views;
}
