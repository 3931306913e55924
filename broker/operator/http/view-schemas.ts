// The JSON shapes the operator API answers with, as zod schemas: they document the responses
// in the OpenAPI document, and the tests parse real responses with them. Amounts are decimal
// strings of the currency (6 places = micro-units), never JSON numbers.
import * as z from 'zod';
import { ERROR_CODES } from '../../../shared/errors.js';

export const amountText = z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]{1,6})?$/).describe('decimal amount, at most 6 places (1 micro-unit = 0.000001)');
const isoTime = z.string().describe('ISO 8601 UTC time');
/** Every view with amounts names the ledger's one currency [docs/DESIGN.md rule 13]. */
export const currencyText = z.string().regex(/^[A-Z]{3}$/).describe('the ledger currency, ISO 4217 (amounts are in its units)');

export const deviceView = z.strictObject({
  id: z.string(),
  publicKey: z.string().describe('ed25519 public key, 64 hex characters'),
  status: z.enum(['active', 'disabled']),
  online: z.boolean().describe('connected to the broker now'),
  balance: amountText.describe('wallet balance'),
  currency: currencyText,
  createdAt: isoTime,
});

export const walletView = z.strictObject({ device: z.string(), balance: amountText, currency: currencyText });

export const channelView = z.strictObject({
  id: z.string().describe('channel id, 64 hex characters'),
  payer: z.string(),
  payee: z.string(),
  state: z.enum(['open', 'closing', 'closed']).describe("'closing': a dispute window is open until closesAt"),
  deposit: amountText,
  latestSeq: z.string().describe('seq of the latest accepted voucher (decimal string, u64)'),
  latestTotal: amountText,
  settledTotal: amountText,
  unsettled: amountText.describe('latest total minus settled total'),
  currency: currencyText,
  revision: z.number().int(),
  openedAt: isoTime,
  expiresAt: isoTime,
  closedAt: isoTime.nullable(),
  closesAt: isoTime.nullable().describe('end of the dispute window while closing'),
  closeRequestedBy: z.enum(['payer', 'payee', 'operator', 'operator-immediate', 'expiry']).nullable(),
  doubleSigns: z.number().int().describe('double-sign evidence rows held; > 0 flags the payer'),
});

export const settlementLineView = z.strictObject({ account: z.string().describe("credited account: 'wallet:{device}' or 'fees'"), amount: amountText });

export const settlementView = z.strictObject({
  id: z.string(),
  reason: z.enum(['epoch', 'threshold', 'close', 'expiry', 'manual']),
  channels: z.number().int().describe('channels settled'),
  amount: amountText.describe('total moved out of escrow, fee included'),
  fee: amountText,
  currency: currencyText,
  createdAt: isoTime,
  createdAtMs: z.number().int(),
});

export const settlementDetailView = settlementView.extend({ lines: z.array(settlementLineView) });

const kindTotal = z.strictObject({ accounts: z.number().int(), balance: amountText });
export const ledgerView = z.strictObject({
  currency: currencyText,
  funded: amountText.describe('money brought in from outside (the sum of fund transfers)'),
  paidOut: amountText.describe('money paid out to outside (the sum of payout transfers)'),
  wallets: kindTotal,
  escrow: kindTotal,
  fees: amountText,
  balanced: z.boolean().describe('wallets + escrow + fees equals funded minus paid out (all accounts sum to zero)'),
});

export const auditView = z.strictObject({
  ok: z.boolean(),
  checks: z.array(z.strictObject({ name: z.string(), ok: z.boolean(), detail: z.string() })),
});

export const restoreView = z.strictObject({
  restored: z.strictObject({
    restoredAtMs: z.number().int(),
    from: z.string().describe('the backup file the ledger was restored from'),
    backupStartedAtMs: z.number().int().describe('when that backup\'s snapshot began: what the devices and the journal hand back came after it'),
    backupSha256: z.string(),
    healed: z.strictObject({
      channels: z.number().int().describe('channels devices re-created or brought forward since the restore'),
      created: z.number().int().describe('of which re-created (opened after the backup)'),
      amount: amountText.describe('what their latest totals grew by'),
    }),
  }).nullable().describe('null: this ledger was never restored'),
  backups: z.strictObject({
    dir: z.string(),
    lastBackupAtMs: z.number().int().nullable(),
    ageSeconds: z.number(),
    boundSeconds: z.number().int(),
    overdue: z.boolean(),
    succeeded: z.number().int(),
    failed: z.number().int(),
  }).nullable().describe('scheduled backups; null without --backup-every'),
});

export const fundResultView = z.strictObject({
  device: z.string(),
  amount: amountText,
  balance: amountText,
  currency: currencyText,
  moved: z.boolean().describe('false when this idempotency key had already funded the wallet'),
  idempotencyKey: z.string(),
});

/** What a payout and a move answer alike: one keyed transfer out of an account. */
const outflowFields = {
  amount: amountText,
  balance: amountText.describe("the source account's balance afterwards"),
  currency: currencyText,
  moved: z.boolean().describe('false when this idempotency key had already made this transfer (nothing moved again)'),
  idempotencyKey: z.string(),
  transfer: z.string().describe('transfer id: payout:{idempotencyKey} or move:{idempotencyKey}'),
};

export const payoutResultView = z.strictObject({
  account: z.string().describe("the account paid out: 'wallet:{device}' or 'fees'"),
  ...outflowFields,
});

export const moveResultView = z.strictObject({
  from: z.string().describe('device whose wallet was debited'),
  to: z.string().describe('device whose wallet was credited'),
  ...outflowFields,
});

export const closeResultView = z.strictObject({
  channel: channelView,
  settled: amountText.nullable().describe('null while closing'),
  refunded: amountText.nullable().describe('null while closing'),
  settlement: z.string().nullable().describe('id of the closing settlement; null when nothing was owed'),
});

export const settleNowView = z.strictObject({ settlement: settlementDetailView.nullable().describe('null when no channel had anything unsettled') });

export const deviceActionView = z.strictObject({
  device: deviceView,
  disconnected: z.boolean().describe('a live MQTT session was closed'),
  channelsClosing: z.number().int().describe("disable: the device's paying channels whose dispute window this opened (0 for enable)"),
});
export const deviceRekeyView = z.strictObject({
  device: deviceView,
  disconnected: z.boolean().describe('a live MQTT session (authenticated with the old key) was closed'),
  certificates: z.number().int().nonnegative().describe('open channels whose certificate was re-issued with the new key'),
});

export const problemView = z.strictObject({
  type: z.string().describe('urn:mqpay:error:{code}'),
  title: z.string(),
  status: z.number().int(),
  code: z.enum(ERROR_CODES as unknown as [string, ...string[]]).describe('stable error code (shared/errors.ts)'),
  detail: z.string(),
  retryable: z.boolean(),
});

const hexBytes = z.string().regex(/^([0-9a-f]{2})*$/).describe('bytes as lower-case hex');
const integerText = z.string().regex(/^(0|[1-9][0-9]*)$/);
const seqText = integerText.describe('voucher seq');
const microText = integerText.describe('integer micro-units');

/** `mqpay channel evidence`: what any Ed25519 library needs to check a channel's settlements. */
export const evidenceView = z.strictObject({
  channel: z.string().describe('channel id, 64 hex characters'),
  payer: z.string(),
  payee: z.string(),
  state: z.string(),
  certificate: z.strictObject({ revision: z.number().int(), bytes: hexBytes, signature: hexBytes }),
  earlierCertificates: z.array(z.strictObject({ revision: z.number().int(), bytes: hexBytes, signature: hexBytes }))
    .describe('certificates a key rotation replaced: a voucher judged under revision r is checked with the first one at or after r'),
  latest: z.strictObject({ seq: seqText, total: microText, revision: z.number().int().nullable(), voucher: hexBytes, signature: hexBytes }).nullable(),
  settled: z.array(z.strictObject({ settlement: z.string(), seq: seqText, total: microText, revision: z.number().int(), voucher: hexBytes, signature: hexBytes })),
  doubleSigns: z.array(z.strictObject({ seq: seqText, acceptedTotal: microText, conflictingTotal: microText, voucher: hexBytes, signature: hexBytes })),
});
