// channel.close: either party may close; the payee can close without the payer online.
import { formatAmount } from '../../../shared/amount.js';
import { MqpayError } from '../../../shared/errors.js';
import { channelIdFromHex } from '../../../shared/ids.js';
import type { RpcParams, RpcResultInput } from '../../../shared/schemas.js';
import { getChannel } from '../../store/channels.js';
import { closeInTransaction } from '../channel-closing.js';
import { channelView } from './channel-view.js';
import type { RpcContext } from './context.js';

type CloseParams = RpcParams<'channel.close'>;

export function closeChannel(ctx: RpcContext, device: string, params: CloseParams): RpcResultInput<'channel.close'> {
  const row = getChannel(ctx.deps.db, channelIdFromHex(params.channel));
  if (row === null) throw new MqpayError('CHANNEL_UNKNOWN');
  if (row.payer !== device && row.payee !== device) throw new MqpayError('NOT_AUTHORIZED', 'not a party to this channel');
  if (row.state !== 'open') throw new MqpayError('CHANNEL_CLOSED');
  const closed = closeInTransaction(ctx, row, 'close');
  return { channel: channelView(closed.channel), settled: formatAmount(closed.settled), refunded: formatAmount(closed.refunded) };
}
