// The read-only methods: wallet.balance and channel.list. Nothing to store, nothing to undo.
import { formatAmount, ZERO } from '../../../shared/amount.js';
import { CHANNELS_PER_DEVICE_MAX } from '../../../shared/limits.js';
import { walletAccount } from '../../store/accounts.js';
import type { StoreReads } from '../../store/port.js';
import type { RpcResultInput } from '../../../shared/schemas.js';
import { channelView } from './channel-view.js';

export async function walletBalance(reads: StoreReads, device: string): Promise<RpcResultInput<'wallet.balance'>> {
  return { device, balance: formatAmount(await reads.balance(walletAccount(device)) ?? ZERO) };
}

export async function channelList(reads: StoreReads, device: string): Promise<RpcResultInput<'channel.list'>> {
  return { channels: (await reads.channelsOf(device, CHANNELS_PER_DEVICE_MAX * 2)).map(channelView) };
}
