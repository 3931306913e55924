// What every RPC method gets: the unit of work it runs in (the store transaction, and the
// effects and after-commit steps that happen only once it commits), the service's
// dependencies, and the channel cache to keep current.
import type { ChannelCache } from '../channel-cache.js';
import type { ServiceDeps } from '../ports.js';
import type { Telemetry } from '../telemetry.js';
import type { Work } from '../unit-of-work.js';

export interface RpcContext {
  readonly deps: ServiceDeps;
  readonly cache: ChannelCache;
  readonly telemetry: Telemetry;
  readonly work: Work;
}
