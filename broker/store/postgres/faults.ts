// How the PostgreSQL store tells errors apart:
// - a conflict (serialization failure 40001, deadlock 40P01): PostgreSQL aborted the whole
//   transaction so that a concurrent one could commit; running it again is correct, and the
//   store does, a bounded number of times (store.ts);
// - the database unreachable, shutting down, out of resources or locked past the wait bound
//   (POSTGRES_LOCK_WAIT_MS): SERVICE_UNAVAILABLE, which
//   devices retry; never retried here, because a COMMIT whose connection broke may or may not
//   have committed (the devices' writes are idempotent, so their retry is safe);
// - anything else (a CHECK, a bug): passed on as it is, as the SQLite store does.
import { MqpayError } from '../../../shared/errors.js';

const CONFLICT_CODES = new Set(['40001', '40P01']);
// 08: connection, 53: resources (disk full, memory, connections), 57P: shutdown, 55P03: lock wait past lock_timeout.
const UNAVAILABLE_CLASSES = ['08', '53', '57P', '55P03'];
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

export function isConflict(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && CONFLICT_CODES.has(code);
}

/** The database unreachable, shutting down, out of resources or locked too long (not a fault of the write). */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof MqpayError) return false;
  const code = codeOf(error);
  if (code !== undefined && (SOCKET_CODES.has(code) || UNAVAILABLE_CLASSES.some((prefix) => code.startsWith(prefix)))) return true;
  // node-postgres reports a connection lost mid-query or a full pool without a code.
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(message);
}

/** The error a caller sees: SERVICE_UNAVAILABLE for an unreachable database, anything else unchanged. */
export function storeFault(error: unknown): unknown {
  if (!isUnavailable(error)) return error;
  return new MqpayError('SERVICE_UNAVAILABLE', `the PostgreSQL ledger is unavailable (${codeOf(error) ?? (error as Error).message})`);
}
