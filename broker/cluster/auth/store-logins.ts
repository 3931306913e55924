// What the login check needs from the store, for a process that runs no settlement service (the
// cluster's auth service): the device, its retired keys, and the connect-token time recorded
// through a unit of work [docs/DESIGN.md "One unit of work"]. The store is shared by every node's
// logins, so a token is single use across the cluster: the conditional update of the last token
// time lets exactly one of two racing logins through.
import type { Logger } from 'pino';
import type { LoginDeps } from '../../mqtt/login-check.js';
import type { TransportPort } from '../../service/ports.js';
import { signedByRetiredKey } from '../../service/retired-keys.js';
import { StorageHealth } from '../../service/storage-health.js';
import type { Telemetry } from '../../service/telemetry.js';
import { UnitOfWork, WriteQueue } from '../../service/unit-of-work.js';
import type { Store } from '../../store/port.js';

/** Logins publish nothing; a unit of work that tried would be a bug. */
const NO_TRANSPORT: TransportPort = {
  publish: () => Promise.reject(new Error('the auth service publishes nothing')),
};

/** No vouchers are ever queued here, so there is nothing to flush before a unit of work. */
const NOTHING_PENDING = { flush: (): Promise<void> => Promise.resolve() };

export function storeLogins(store: Store, telemetry: Telemetry, logger: Logger): LoginDeps['service'] {
  const unitOfWork = new UnitOfWork(store, new WriteQueue(), NOTHING_PENDING, NO_TRANSPORT, logger, telemetry, new StorageHealth(telemetry));
  return {
    device: (id) => store.reads.device(id),
    signedByRetiredKey: (device, signature, message) => signedByRetiredKey(store.reads, device, signature, message),
    acceptConnectToken: (device, timeMs) => unitOfWork.commit((work) => work.tx.useTokenTime(device, timeMs)),
  };
}
