// channel.close: either party may close; the payee can close without the payer online.
import { formatAmount } from '../../../shared/amount.js';
import { MqpayError } from '../../../shared/errors.js';
import { channelIdFromHex } from '../../../shared/ids.js';
import type { RpcParams, RpcResultInput } from '../../../shared/schemas.js';
import { closeInTransaction } from '../settlement/closing.js';
import { channelView } from './channel-view.js';
import type { RpcContext } from './context.js';

type CloseParams = RpcParams<'channel.close'>;

export async function closeChannel(ctx: RpcContext, device: string, params: CloseParams): Promise<RpcResultInput<'channel.close'>> {
  const row = await ctx.work.tx.channel(channelIdFromHex(params.channel));
  if (row === null) throw new MqpayError('CHANNEL_UNKNOWN');
  if (row.payer !== device && row.payee !== device) throw new MqpayError('NOT_AUTHORIZED', 'not a party to this channel');
  if (row.state !== 'open') throw new MqpayError('CHANNEL_CLOSED');
  const closed = await closeInTransaction(ctx, row, 'close');
  return { channel: channelView(closed.channel), settled: formatAmount(closed.settled), refunded: formatAmount(closed.refunded) };
}
