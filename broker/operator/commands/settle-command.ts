// `mqpay settle --url U`: settle every channel with an unsettled voucher now (an epoch out of
// turn), through the running broker. There is no --data form: the running service holds
// accepted vouchers in its group commit and its channel cache, so a settlement written beside it
// on the file could miss vouchers it has accepted and not yet written, and it would race the
// broker's own epoch; with no broker running, the next start settles what is due anyway.
import type { Command } from '../../../cli/command.js';
import type { SettlementDetailView } from '../http/resource-views.js';
import { apiOnlyOptions, requireApi } from './view-source.js';
import { settlementLine } from './view-tables.js';

export const settleCommand: Command = {
  name: ['settle'],
  summary: 'settle every channel with an unsettled voucher now, through the running broker (--url)',
  positionals: [],
  options: {
    ...apiOnlyOptions,
    json: { type: 'boolean', description: 'print the API answer as JSON ({ settlement }, null when nothing was unsettled)' },
  },
  async run(input) {
    const api = requireApi(input, 'settling goes through the running broker, which holds accepted vouchers not yet written');
    const answer = await api.post<{ settlement: SettlementDetailView | null }>('/api/settlements');
    if (input.values.json === true) input.stdout(JSON.stringify(answer, null, 2));
    else input.stdout(answer.settlement === null ? 'nothing to settle: no channel has an unsettled voucher' : `settled: ${settlementLine(answer.settlement)}`);
    return 0;
  },
};
