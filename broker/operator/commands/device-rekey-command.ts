// `mqpay device rekey NAME --public-key HEX --url U`: an operator replaces a lost device's key
// through the running broker's API [docs/DESIGN.md rule 12]. The service checks the key as at
// enrolment, refuses one any device ever had, re-issues the certificates of the device's open
// channels with it and closes the device's live session, in one unit of work.
import { UsageError, type Command } from '../../../cli/command.js';
import { publicKeyFromHex, publicKeyToHex } from '../../../shared/keys.js';
import type { DeviceView } from '../http/resource-views.js';
import { apiCaller } from './view-source-api.js';
import { chooseSource, viewSourceOptions } from './view-source.js';

interface RekeyAnswer {
  readonly device: DeviceView;
  readonly disconnected: boolean;
  readonly certificates: number;
}

export const deviceRekeyCommand: Command = {
  name: ['device', 'rekey'],
  summary: 'replace a device\'s public key (operator; a lost device): its open channels get certificates with the new key',
  positionals: ['NAME'],
  options: {
    url: viewSourceOptions.url,
    token: viewSourceOptions.token,
    'public-key': { type: 'string', description: 'the new 32-byte public key, 64 hex characters (from `mqpay agent init` on the replacement)' },
    json: { type: 'boolean', description: 'print the API answer as JSON' },
  },
  async run(input) {
    const [name = ''] = input.positionals;
    const text = input.values['public-key'];
    if (typeof text !== 'string') throw new UsageError('give the new key: --public-key HEX');
    const publicKey = publicKeyFromHex(text.toLowerCase()); // a bad key fails here, before any request
    const source = chooseSource(input);
    if (source.kind !== 'url') throw new UsageError('a re-key goes through the running broker: give --url');
    const answer = await apiCaller(source.base, source.token).post<RekeyAnswer>(`/api/devices/${encodeURIComponent(name)}/rekey`, { publicKey: publicKeyToHex(publicKey) });
    if (input.values.json === true) input.stdout(JSON.stringify(answer));
    else input.stdout(`re-keyed ${answer.device.id}: public key ${answer.device.publicKey}; ${answer.certificates} certificate(s) re-issued; ${answer.disconnected ? 'live session closed' : 'was not connected'}`);
    return 0;
  },
};
