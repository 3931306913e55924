// Shapes of the RPC results the payer relies on. Loose objects: the service may add fields
// without breaking older agents; the fields used here must be present and well-formed.
import * as z from 'zod';
import { CERTIFICATE_BYTES } from '../../shared/certificate.js';
import { MqpayError } from '../../shared/errors.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../../shared/limits.js';
import { amountSchema, channelViewSchema, hexOf } from '../../shared/schemas.js';

export const certifiedResultSchema = z.object({
  channel: channelViewSchema,
  certificate: hexOf(CERTIFICATE_BYTES),
  signature: hexOf(SIGNATURE_BYTES),
  servicePublicKey: hexOf(PUBLIC_KEY_BYTES).optional(),
});

export const closeResultSchema = z.object({ settled: amountSchema, refunded: amountSchema });
export const balanceResultSchema = z.object({ balance: amountSchema });

export function parseResult<S extends z.ZodType>(schema: S, result: Record<string, unknown>, what: string): z.output<S> {
  const parsed = schema.safeParse(result);
  if (!parsed.success) throw new MqpayError('MESSAGE_INVALID', `${what} result: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}
