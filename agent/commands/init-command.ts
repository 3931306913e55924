// `mqpay agent init`: creates an agent home. The public key is the last line of the output, so
// a provisioning script can pipe it straight into enrolment.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { requirePath, requireString, UsageError, type Command, type CommandInput } from '../../cli/command.js';
import { publicKeyFromHex } from '../../shared/keys.js';
import { toHex } from '../../shared/hex.js';
import { checkCurrencyCode } from '../../shared/currency.js';
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

/** --broker-ca is copied into agent.json (the home then needs no other file to trust the broker). */
function tlsOf(input: CommandInput): NonNullable<AgentConfigInput['tls']> | undefined {
  const caFile = optionalString(input, 'broker-ca');
  const pin = optionalString(input, 'broker-cert-sha256');
  const cert = optionalString(input, 'client-cert');
  const key = optionalString(input, 'client-key');
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('give --client-cert and --client-key together');
  if (caFile === undefined && pin === undefined && cert === undefined) return undefined;
  let brokerCa: string | undefined;
  if (caFile !== undefined) {
    brokerCa = readFileSync(resolve(input.io.cwd, caFile), 'utf8');
    if (!brokerCa.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--broker-ca ${caFile} is not a PEM certificate`);
  }
  return {
    ...(brokerCa === undefined ? {} : { brokerCa }),
    ...(pin === undefined ? {} : { brokerCertSha256: pin }),
    ...(cert === undefined || key === undefined ? {} : { clientCertFile: resolve(input.io.cwd, cert), clientKeyFile: resolve(input.io.cwd, key) }),
  };
}

function configOf(input: CommandInput): AgentConfigInput {
  const brokerId = optionalString(input, 'broker-id');
  const brokerUrl = optionalString(input, 'broker');
  const servicePublicKey = serviceKeyOf(input);
  const deposit = optionalString(input, 'deposit');
  const tls = tlsOf(input);
  const currency = optionalString(input, 'currency');
  return {
    v: 1,
    device: requireString(input, 'id'),
    ...(brokerId === undefined ? {} : { brokerId }),
    ...(brokerUrl === undefined ? {} : { brokerUrl }),
    ...(servicePublicKey === undefined ? {} : { servicePublicKey }),
    ...(currency === undefined ? {} : { currency: checkCurrencyCode(currency) }),
    ...(tls === undefined ? {} : { tls }),
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
    currency: { type: 'string', description: 'ISO 4217 code this device pays in: a channel in another is refused (CURRENCY_MISMATCH); default: the ledger\'s' },
    'service-key-file': { type: 'string', description: 'pin the service public key from a file (the broker\'s service.pub)' },
    'broker-ca': { type: 'string', description: 'PEM CA that issued the broker\'s TLS certificate (copied into agent.json; mqtts:// then trusts only it)' },
    'broker-cert-sha256': { type: 'string', description: 'pin the broker certificate\'s SHA-256 fingerprint (openssl x509 -noout -fingerprint -sha256)' },
    'client-cert': { type: 'string', description: 'PEM certificate this device presents (mutual TLS; CN = the device id)' },
    'client-key': { type: 'string', description: 'PEM key of --client-cert' },
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
    const tls = created.config.tls;
    if (tls !== undefined) input.stdout(`broker TLS: ${[tls.brokerCa === undefined ? null : 'CA stored', tls.brokerCertSha256 === undefined ? null : 'certificate pinned', tls.clientCertFile === undefined ? null : 'client certificate set'].filter((part) => part !== null).join(', ')}; mqtts:// only`);
    input.stdout('public key (enrol it with the service):');
    input.stdout(toHex(created.keys.publicKey));
    return 0;
  },
};
