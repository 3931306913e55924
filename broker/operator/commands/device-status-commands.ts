// `mqpay device disable NAME` and `mqpay device enable NAME` (operator) through the running
// broker's API [docs/DESIGN.md rule 12]. Disabling closes the device's live session, refuses its
// connections (CONNACK 2) and opens the dispute window of every channel where it pays, in one
// unit of work; only the running service can do that (notices, the channel cache, the session),
// so there is no --data form: with --data the command says so and changes nothing.
import { UsageError, type Command } from '../../../cli/command.js';
import type { DeviceView } from '../http/resource-views.js';
import { apiCaller } from './view-source-api.js';
import { chooseSource, viewSourceOptions } from './view-source.js';

interface StatusAnswer {
  readonly device: DeviceView;
  readonly disconnected: boolean;
  readonly channelsClosing: number;
}

function describe(action: 'disable' | 'enable', answer: StatusAnswer): string {
  if (action === 'enable') return `enabled ${answer.device.id}: it may connect and open channels again`;
  const session = answer.disconnected ? 'its live session was closed' : 'it was not connected';
  return `disabled ${answer.device.id}: ${session}; its connections are refused (DEVICE_DISABLED); ${answer.channelsClosing} channel(s) where it pays are closing (dispute window open)`;
}

function statusCommand(action: 'disable' | 'enable', summary: string): Command {
  return {
    name: ['device', action],
    summary,
    positionals: ['NAME'],
    options: { ...viewSourceOptions, json: { type: 'boolean', description: 'print the API answer as JSON' } },
    async run(input) {
      const [name = ''] = input.positionals;
      const source = chooseSource(input);
      if (source.kind !== 'url') throw new UsageError(`device ${action} needs the running broker (it closes sessions and channels through the service): give --url, not --data`);
      const answer = await apiCaller(source.base, source.token).post<StatusAnswer>(`/api/devices/${encodeURIComponent(name)}/${action}`);
      input.stdout(input.values.json === true ? JSON.stringify(answer) : describe(action, answer));
      return 0;
    },
  };
}

export const deviceDisableCommand = statusCommand('disable', 'disable a device (operator): refuse its connections and open the dispute window of every channel where it pays');
export const deviceEnableCommand = statusCommand('enable', 'enable a disabled device again: it may connect and open channels');
