// `mqpay channel close ID --url U [--immediate]`: an operator's force-close through the running
// broker's API (the service does the write, in one unit of work). It opens the channel's dispute
// window, so a payee holding a better voucher can still redeem it; `--immediate` settles at once
// and is recorded as such [docs/DESIGN.md rule 11].
import type { Command } from '../../../cli/command.js';
import type { ChannelView } from '../http/resource-views.js';
import { apiOnlyOptions, requireApi } from './view-source.js';

interface CloseAnswer {
  readonly channel: ChannelView;
  readonly settled: string | null;
  readonly refunded: string | null;
  readonly settlement: string | null;
}

export const channelCloseCommand: Command = {
  name: ['channel', 'close'],
  summary: 'force-close a channel (operator): opens its dispute window; --immediate settles at once (recorded)',
  positionals: ['ID'],
  options: {
    ...apiOnlyOptions,
    immediate: { type: 'boolean', description: 'settle now, without a dispute window' },
    json: { type: 'boolean', description: 'print the API answer as JSON' },
  },
  async run(input) {
    const [id = ''] = input.positionals;
    const api = requireApi(input, 'a force-close goes through the running broker');
    const immediate = input.values.immediate === true;
    const answer = await api.post<CloseAnswer>(`/api/channels/${encodeURIComponent(id)}/close${immediate ? '?immediate=true' : ''}`);
    if (input.values.json === true) input.stdout(JSON.stringify(answer));
    else if (answer.channel.state === 'closed') input.stdout(`channel ${answer.channel.id} closed: settled ${answer.settled ?? '0'}, refunded ${answer.refunded ?? '0'}`);
    else input.stdout(`channel ${answer.channel.id} closing: settles at ${answer.channel.closesAt ?? '?'}; the payee may redeem until then`);
    return 0;
  },
};
