// The agent's configuration file (`agent.json` in its home directory), validated with zod
// once at start. Amounts are decimal strings, as everywhere on the wire; after parsing they
// are bigint micro-units.
import * as z from 'zod';
import { MqpayError } from '../../shared/errors.js';
import { CHANNEL_DURATION_S_MAX, CHANNEL_DURATION_S_MIN } from '../../shared/limits.js';
import { amountSchema, deviceIdSchema } from '../../shared/schemas.js';
import { AGENT_TLS_PEM_CHARS_MAX, ALLOW_LIST_ENTRIES_MAX, CHANNEL_DURATION_S_DEFAULT, CHANNEL_RENEW_BEFORE_S_DEFAULT, VOUCHER_LIFETIME_S_DEFAULT, VOUCHER_LIFETIME_S_MIN } from '../limits.js';

const positiveAmount = amountSchema.refine((amount) => amount > 0n, 'must be greater than zero');
const budgetSchema = z.strictObject({ hour: positiveAmount.optional(), day: positiveAmount.optional() });

export const policySchema = z.strictObject({
  /** Largest single payment. */
  maxPerPayment: positiveAmount.optional(),
  /** Budgets per payee (each payee separately), over a sliding hour and day. */
  perPayee: budgetSchema.optional(),
  /** Budgets over all payees together. */
  overall: budgetSchema.optional(),
  /** When present, the only payees this agent may pay. */
  allow: z.array(deviceIdSchema).max(ALLOW_LIST_ENTRIES_MAX).optional(),
});
export type SpendingPolicy = z.output<typeof policySchema>;

export const channelConfigSchema = z.strictObject({
  /** Escrowed when a channel to a new payee opens, and the minimum of each top-up. */
  deposit: positiveAmount.prefault('1'),
  /** Top up (in the background) once the unspent deposit falls below this; 0 = only when needed. */
  topupBelow: amountSchema.prefault('0'),
  durationSeconds: z.number().int().min(CHANNEL_DURATION_S_MIN).max(CHANNEL_DURATION_S_MAX).default(CHANNEL_DURATION_S_DEFAULT),
  /** A channel this close to expiry takes no new payments; a new one is opened. */
  renewBeforeSeconds: z.number().int().min(0).max(CHANNEL_DURATION_S_MAX).default(CHANNEL_RENEW_BEFORE_S_DEFAULT),
});

const fingerprintSchema = z.string().regex(/^(?:[0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2}$|^[0-9a-fA-F]{64}$/, 'SHA-256 fingerprint: 64 hex digits, colons allowed');

/** How the agent trusts the broker over mqtts://, and its own certificate for mutual TLS. */
export const agentTlsSchema = z.strictObject({
  /** PEM CA that issued the broker's certificate (`agent init --broker-ca FILE` copies it here). */
  brokerCa: z.string().max(AGENT_TLS_PEM_CHARS_MAX).refine((pem) => pem.includes('-----BEGIN CERTIFICATE-----'), 'a PEM certificate').optional(),
  /** SHA-256 of the broker's certificate; alone it replaces the CA check (a self-signed broker). */
  brokerCertSha256: fingerprintSchema.optional(),
  /** This device's certificate and key (PEM files, relative to the home), for mutual TLS. */
  clientCertFile: z.string().min(1).optional(),
  clientKeyFile: z.string().min(1).optional(),
}).refine((tls) => (tls.clientCertFile === undefined) === (tls.clientKeyFile === undefined), 'clientCertFile and clientKeyFile go together');

export const agentConfigSchema = z.strictObject({
  v: z.literal(1),
  device: deviceIdSchema,
  brokerId: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,31}$/, 'broker id: 1-32 of [a-z0-9_.-]').default('mqpay'),
  /** Used when no broker URL is given on the command line. */
  brokerUrl: z.string().min(1).max(256).optional(),
  /** Pinned service key (hex); without it the first key seen in a channel.open is trusted. */
  servicePublicKey: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex characters').optional(),
  /**
   * The currency this device pays in (ISO 4217). Set, a channel whose certificate names another
   * is refused with CURRENCY_MISMATCH before anything is signed; unset, the ledger's is accepted.
   */
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code of three upper-case letters').optional(),
  /** TLS trust for mqtts:// brokers; set, a plain mqtt:// URL is refused rather than used. */
  tls: agentTlsSchema.optional(),
  channel: channelConfigSchema.prefault({}),
  voucherLifetimeSeconds: z.number().int().min(VOUCHER_LIFETIME_S_MIN).max(CHANNEL_DURATION_S_MAX).default(VOUCHER_LIFETIME_S_DEFAULT),
  policy: policySchema.prefault({}),
});

export type AgentConfigInput = z.input<typeof agentConfigSchema>;
export type AgentConfig = Readonly<z.output<typeof agentConfigSchema>>;

export function parseAgentConfig(input: unknown): AgentConfig {
  const result = agentConfigSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new MqpayError('MESSAGE_INVALID', `agent config ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return Object.freeze(result.data);
}
