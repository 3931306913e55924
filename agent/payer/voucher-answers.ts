// The service's answers to this agent's vouchers, on its in/voucher. "accepted" at seq n
// settles every pending voucher of the channel up to n. A final rejection fails the waiting
// payments and retires the channel, unless a later voucher of the same channel is still
// pending: that one's answer decides, since its total includes the earlier payments.
import { formatAmount } from '../../shared/amount.js';
import { MqpayError } from '../../shared/errors.js';
import { channelIdFromHex } from '../../shared/ids.js';
import { errorFromBody, type VoucherInboxParsed } from '../../shared/schemas.js';
import type { AgentContext } from '../context.js';
import type { SeqWaiters } from '../link/seq-waiters.js';
import { getPayerChannel, recordAccepted, setPayerChannelState } from '../store/payer-channels.js';
import { findSignedVoucher, hasPendingAbove, markAcceptedUpTo, markRejectedUpTo } from '../store/signed-vouchers.js';
import type { PayerReceipts } from './receipts-in.js';

type Accepted = Extract<VoucherInboxParsed, { type: 'voucher.accepted' }>;
type Rejected = Extract<VoucherInboxParsed, { type: 'voucher.rejected' }>;
/** Rejections after which the channel itself is over, not just this voucher. */
const CHANNEL_ENDED = new Set(['CHANNEL_CLOSED', 'CHANNEL_EXPIRED', 'CHANNEL_CLOSING']);

export class VoucherAnswers {
  /**
   * Told when the service does not know a channel it certified: its ledger was restored from a
   * backup, so the channel is handed back (agent/channel-healer.ts) and the voucher re-sent.
   */
  onChannelForgotten: () => void = () => undefined;

  constructor(private readonly ctx: AgentContext, private readonly accepted: SeqWaiters<void>, private readonly receipts: PayerReceipts) {}

  /** `message` was parsed by the shared schema: seq and total are checked bigints already. */
  onAccepted(message: Accepted): void {
    const { db, batch, logger } = this.ctx;
    const { seq, total } = message;
    const id = channelIdFromHex(message.channel);
    const signed = findSignedVoucher(db, id, seq);
    const channel = getPayerChannel(db, id);
    if (channel === null || seq > channel.signedSeq || (signed !== null && signed.total !== total)) {
      logger.error({ channel: message.channel, seq: seq.toString(), total: formatAmount(total) }, 'service accepted a voucher this agent did not sign');
      return;
    }
    this.accepted.resolveUpTo(message.channel, seq, undefined);
    // Bookkeeping only: if it is lost in a crash the voucher is re-sent and accepted again.
    batch.run(() => {
      markAcceptedUpTo(db, id, seq);
      recordAccepted(db, id, seq, total);
    }, { durable: false }).catch((error: unknown) => logger.error({ err: (error as Error).message }, 'could not record an acceptance'));
  }

  onRejected(message: Rejected): void {
    const { db, batch, logger } = this.ctx;
    const error = errorFromBody(message.error);
    const { seq } = message;
    if (message.channel === undefined || seq === undefined || error.retryable) {
      logger.info({ channel: message.channel, seq: seq?.toString(), code: error.code }, 'voucher not taken now; it will be re-sent');
      return;
    }
    const id = channelIdFromHex(message.channel);
    if (error.code === 'CHANNEL_UNKNOWN' && getPayerChannel(db, id)?.certificate != null) {
      logger.warn({ channel: message.channel, seq: seq.toString() }, 'the service forgot a channel it certified (its ledger restored?); handing it back');
      this.onChannelForgotten();
      return;
    }
    const signed = findSignedVoucher(db, id, seq);
    if (signed === null || signed.state !== 'pending' || hasPendingAbove(db, id, seq)) return;
    logger.warn({ channel: message.channel, seq: seq.toString(), code: error.code }, 'voucher refused by the service');
    const state = CHANNEL_ENDED.has(error.code) ? 'closed' : 'failed';
    batch.run(() => {
      markRejectedUpTo(db, id, seq, error.code);
      setPayerChannelState(db, id, state, error.code);
    }, { durable: false }).catch((failure: unknown) => logger.error({ err: (failure as Error).message }, 'could not record a rejection'));
    this.accepted.rejectUpTo(message.channel, seq, error);
    this.receipts.rejectUpTo(message.channel, seq, new MqpayError(error.code, 'the voucher was refused, so no receipt will come'));
  }
}
