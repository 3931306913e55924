// `mqpay agent init`: creates an agent home. The public key is the last line of the output, so
// a provisioning script can pipe it straight into enrolment.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { requirePath, requireString, UsageError, type Command, type CommandInput } from '../../cli/command.js';
import { publicKeyFromHex } from '../../shared/keys.js';
import { toHex } from '../../shared/hex.js';
import type { AgentConfigInput } from '../home/config.js';
import { CONFIG_FILE, initAgentHome, KEY_FILE } from '../home/home.js';
import { systemRandom } from '../ports.js';
import { homeOption, optionalString } from './options.js';

function serviceKeyOf(input: CommandInput): string | undefined {
  const hex = optionalString(input, 'service-key');
  const file = optionalString(input, 'service-key-file');
  if (hex !== undefined && file !== undefined) throw new UsageError('give --service-key or --service-key-file, not both');
  const text = hex ?? (file === undefined ? undefined : readFileSync(resolve(input.io.cwd, file), 'utf8').trim());
  return text === undefined ? undefined : toHex(publicKeyFromHex(text.toLowerCase()));
}

function policyOf(input: CommandInput): NonNullable<AgentConfigInput['policy']> {
  const maxPerPayment = optionalString(input, 'max-per-payment');
  const hour = optionalString(input, 'budget-hour');
  const day = optionalString(input, 'budget-day');
  const allow = input.values.allow;
  return {
    ...(maxPerPayment === undefined ? {} : { maxPerPayment }),
    ...(hour === undefined && day === undefined ? {} : { overall: { ...(hour === undefined ? {} : { hour }), ...(day === undefined ? {} : { day }) } }),
    ...(Array.isArray(allow) ? { allow } : {}),
  };
}

function configOf(input: CommandInput): AgentConfigInput {
  const brokerId = optionalString(input, 'broker-id');
  const brokerUrl = optionalString(input, 'broker');
  const servicePublicKey = serviceKeyOf(input);
  const deposit = optionalString(input, 'deposit');
  return {
    v: 1,
    device: requireString(input, 'id'),
    ...(brokerId === undefined ? {} : { brokerId }),
    ...(brokerUrl === undefined ? {} : { brokerUrl }),
    ...(servicePublicKey === undefined ? {} : { servicePublicKey }),
    ...(deposit === undefined ? {} : { channel: { deposit } }),
    policy: policyOf(input),
  };
}

export const initCommand: Command = {
  name: ['agent', 'init'],
  summary: 'create an agent home: secret key (mode 0600), agent.json and local state; prints the public key last',
  positionals: [],
  options: {
    ...homeOption,
    id: { type: 'string', description: 'device id (1-32 of a-z 0-9 _ . -)' },
    broker: { type: 'string', description: 'default broker URL to store in agent.json' },
    'broker-id': { type: 'string', description: 'broker id to store in agent.json (default mqpay)' },
    'service-key': { type: 'string', description: 'pin the service public key (hex)' },
    'service-key-file': { type: 'string', description: 'pin the service public key from a file (the broker\'s service.pub)' },
    deposit: { type: 'string', description: 'deposit per channel, e.g. 1.5 (default 1)' },
    'max-per-payment': { type: 'string', description: 'refuse single payments above this amount' },
    'budget-hour': { type: 'string', description: 'refuse payments beyond this total per sliding hour' },
    'budget-day': { type: 'string', description: 'refuse payments beyond this total per sliding day' },
    allow: { type: 'string', description: 'only pay this payee (repeat for several)', multiple: true },
  },
  async run(input) {
    const home = requirePath(input, 'home');
    const created = initAgentHome({ home, config: configOf(input), random: systemRandom });
    input.stdout(`agent ${created.config.device} created in ${home}`);
    input.stdout(`configuration: ${home}/${CONFIG_FILE} (deposit, top-up, spending policy)`);
    input.stdout(`secret key: ${home}/${KEY_FILE} (mode 0600; never share it)`);
    input.stdout(created.config.servicePublicKey === undefined ? 'service key: not pinned; the first one seen is trusted' : 'service key: pinned');
    input.stdout('public key (enrol it with the service):');
    input.stdout(toHex(created.keys.publicKey));
    return 0;
  },
};
