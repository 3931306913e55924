// A channel as its parties see it in RPC results (the operator API has its own view).
import { formatAmount } from '../../../shared/amount.js';
import { toHex } from '../../../shared/hex.js';
import type { RpcChannel } from '../../../shared/schemas.js';
import type { ChannelRow } from '../../store/port.js';

export function channelView(row: ChannelRow): RpcChannel {
  return {
    channel: toHex(row.id),
    payer: row.payer,
    payee: row.payee,
    deposit: formatAmount(row.deposit),
    total: formatAmount(row.latestTotal),
    settled: formatAmount(row.settledTotal),
    seq: row.latestSeq.toString(),
    state: row.state,
    expiresAtSeconds: Number(row.expiresAtSeconds),
    ...(row.state === 'closing' && row.closingDeadlineMs !== null ? { closesAtMs: row.closingDeadlineMs } : {}),
  };
}
