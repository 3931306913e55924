// Server-side spending limits as the operator API and the CLI show and take them: amounts as
// decimal strings, null where none is set [docs/DESIGN.md rule 12].
import * as z from 'zod';
import { formatAmount, parseAmount } from '../../../shared/amount.js';
import { checkDeviceId } from '../../../shared/ids.js';
import { ALLOW_PAYEES_MAX } from '../../limits.js';
import type { DeviceLimits } from '../../store/port.js';
import { amountText } from './view-schemas.js';

export const limitsView = z.strictObject({
  maxPerPayment: amountText.nullable().describe('most one voucher may raise a channel total by'),
  maxPerHour: amountText.nullable().describe('most the device may spend over the last hour (rolling)'),
  maxPerDay: amountText.nullable().describe('most the device may spend over the last day (rolling); also the most a channel may hold unspent'),
  allowPayees: z.array(z.string()).nullable().describe('the only payees allowed; null: any'),
});
export type LimitsView = z.infer<typeof limitsView>;

export const deviceLimitsView = z.strictObject({
  device: z.string(),
  own: limitsView.describe("the device's own limits; null fields take the broker's default"),
  defaults: limitsView.describe("the broker's defaults (--device-max-per-payment, --device-max-per-hour, --device-max-per-day)"),
  effective: limitsView.describe('what the service enforces: own over defaults'),
});
export type DeviceLimitsView = z.infer<typeof deviceLimitsView>;

const limitAmount = z.string().max(32).transform((text) => parseAmount(text)).refine((amount) => amount > 0n, 'a limit must be greater than zero').nullable().default(null);

/** PUT body: the device's own limits, replaced whole; an absent or null field takes the default. */
export const limitsBody = z.strictObject({
  maxPerPayment: limitAmount,
  maxPerHour: limitAmount,
  maxPerDay: limitAmount,
  allowPayees: z.array(z.string().max(64).transform((id) => checkDeviceId(id))).max(ALLOW_PAYEES_MAX).nullable().default(null),
});

const amountOrNull = (amount: bigint | null): string | null => (amount === null ? null : formatAmount(amount as never));

export function viewLimits(limits: DeviceLimits): LimitsView {
  return { maxPerPayment: amountOrNull(limits.maxPerPayment), maxPerHour: amountOrNull(limits.maxPerHour), maxPerDay: amountOrNull(limits.maxPerDay), allowPayees: limits.allowPayees === null ? null : [...limits.allowPayees] };
}

/** The view back into limits (the CLI edits a view and sends or stores it). */
export function limitsOfView(view: LimitsView): DeviceLimits {
  const amount = (text: string | null) => (text === null ? null : parseAmount(text));
  return { maxPerPayment: amount(view.maxPerPayment), maxPerHour: amount(view.maxPerHour), maxPerDay: amount(view.maxPerDay), allowPayees: view.allowPayees === null ? null : view.allowPayees.map((id) => checkDeviceId(id)) };
}
