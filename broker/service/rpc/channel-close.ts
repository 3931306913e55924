// channel.close: either party may close. The payee's close settles at once (it gives up only its
// own claim); the payer's opens the dispute window, so a payee holding a better voucher can still
// redeem it before the deadline [docs/DESIGN.md rule 11]. A repeated close changes nothing.
import { formatAmount } from '../../../shared/amount.js';
import { MqpayError } from '../../../shared/errors.js';
import { channelIdFromHex } from '../../../shared/ids.js';
import type { RpcParams, RpcResultInput } from '../../../shared/schemas.js';
import { beginClosing, closeInTransaction, type CloseResult } from '../settlement/closing.js';
import { channelView } from './channel-view.js';
import type { RpcContext } from './context.js';

type CloseParams = RpcParams<'channel.close'>;

export async function closeChannel(ctx: RpcContext, device: string, params: CloseParams): Promise<RpcResultInput<'channel.close'>> {
  const row = await ctx.work.tx.channel(channelIdFromHex(params.channel));
  if (row === null) throw new MqpayError('CHANNEL_UNKNOWN');
  if (row.payer !== device && row.payee !== device) throw new MqpayError('NOT_AUTHORIZED', 'not a party to this channel');
  if (row.state === 'closed') throw new MqpayError('CHANNEL_CLOSED');
  let result: CloseResult;
  if (row.payee === device) result = await closeInTransaction(ctx, row, 'close', 'payee');
  else if (row.state === 'closing') result = { channel: row, settlement: null, settled: null, refunded: null };
  else result = await beginClosing(ctx, row, 'payer');
  return {
    channel: channelView(result.channel),
    ...(result.settled === null ? {} : { settled: formatAmount(result.settled) }),
    ...(result.refunded === null ? {} : { refunded: formatAmount(result.refunded) }),
  };
}
