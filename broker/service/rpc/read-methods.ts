// The read-only methods: wallet.balance and channel.list. Nothing to store, nothing to undo.
import { formatAmount, ZERO } from '../../../shared/amount.js';
import { CHANNELS_PER_DEVICE_MAX } from '../../../shared/limits.js';
import type { RpcResultInput } from '../../../shared/schemas.js';
import { listChannelsOf } from '../../store/channels.js';
import { balanceOf, walletAccount } from '../../store/ledger.js';
import { channelView } from './channel-view.js';
import type { RpcContext } from './context.js';

export function walletBalance(ctx: RpcContext, device: string): RpcResultInput<'wallet.balance'> {
  return { device, balance: formatAmount(balanceOf(ctx.deps.db, walletAccount(device)) ?? ZERO) };
}

export function channelList(ctx: RpcContext, device: string): RpcResultInput<'channel.list'> {
  return { channels: listChannelsOf(ctx.deps.db, device, CHANNELS_PER_DEVICE_MAX * 2).map(channelView) };
}
