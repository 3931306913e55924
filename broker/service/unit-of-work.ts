// One unit of work for every write the service makes: RPCs, closes, expiry, settlement,
// funding, operator actions, connect tokens [docs/DESIGN.md "One unit of work"].
//
// `commit(fn)`:
//   1. commits the vouchers already queued, in their own group commit (never inside `fn`'s
//      transaction: there they would be acknowledged and then roll back if `fn` failed);
//   2. runs `fn` in one BEGIN IMMEDIATE transaction;
//   3. only after COMMIT runs the after-commit steps (cache updates, telemetry) and publishes
//      the effects `fn` queued, in the order it queued them.
// Writers are serialised here (one queue), so no two transactions of this process overlap and
// a group commit never lands inside another transaction.
import type { Logger } from 'pino';
import type { Store, StoreTx } from '../store/port.js';
import type { Effect, TransportPort } from './ports.js';
import type { StorageHealth } from './storage-health.js';
import type { Telemetry } from './telemetry.js';

export interface Work {
  readonly tx: StoreTx;
  /** Queues a message to publish once the transaction has committed. */
  publish(effect: Effect): void;
  /** Queues an in-memory step (cache, telemetry) to run once the transaction has committed. */
  afterCommit(step: () => void): void;
}

export interface PendingWrites {
  /** Commits what is queued; resolves once everything queued before the call is durable. */
  flush(): Promise<void>;
}

/** One queue for every transaction of the process: each starts when the one before it is done. */
export class WriteQueue {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task);
    this.tail = run.then(() => undefined, () => undefined);
    return run;
  }
}

export class UnitOfWork {
  constructor(
    private readonly store: Store,
    private readonly queue: WriteQueue,
    /** The group commit of vouchers and receipts, flushed before every unit of work. */
    private readonly pending: PendingWrites,
    private readonly transport: TransportPort,
    private readonly logger: Logger,
    private readonly telemetry: Telemetry,
    /** While the disk is stalled, a unit of work that has not started is refused (SERVICE_UNAVAILABLE). */
    private readonly health: StorageHealth,
  ) {}

  /**
   * Flushes pending vouchers, runs `fn` in one transaction, then the after-commit steps and the
   * effects. Resolves with `fn`'s value once the effects are handed to the transport (a failed
   * publish is logged: the change is durable and the device re-reads it on reconnect).
   */
  async commit<T>(fn: (work: Work) => Promise<T>): Promise<T> {
    await this.health.unlessStalled(this.pending.flush());
    const effects: Effect[] = [];
    const steps: (() => void)[] = [];
    const value = await this.health.whileWaiting((started) => this.queue.run(async () => {
      started();
      const startedMs = performance.now();
      try {
        return await this.store.transaction((tx) => {
          // A store may run the transaction again after the database aborted it (PostgreSQL's
          // serialization failures): only the effects and steps of the last run count.
          effects.length = 0;
          steps.length = 0;
          return fn({
            tx,
            publish: (effect) => effects.push(effect),
            afterCommit: (step) => steps.push(step),
          });
        });
      } finally {
        this.telemetry.emit({ kind: 'commit', what: 'unit', writes: 1, durationMs: performance.now() - startedMs });
      }
    }));
    for (const step of steps) {
      try {
        step();
      } catch (error) {
        this.logger.error({ err: error }, 'after-commit step failed; the change itself is durable');
      }
    }
    await this.publish(effects);
    return value;
  }

  /** Publishes in order of queuing; each send is started before the next, none awaited alone. */
  async publish(effects: readonly Effect[]): Promise<void> {
    const sends = effects.map((effect) => this.transport.publish(effect.topic, effect.payload, effectOptions(effect)));
    const results = await Promise.allSettled(sends);
    const failed = results.filter((result) => result.status === 'rejected').length;
    if (failed > 0) this.logger.warn({ failed, effects: effects.length }, 'effects not delivered; devices catch up on reconnect');
  }
}

function effectOptions(effect: Effect): { retain?: boolean; qos?: 0 | 1 } {
  const options: { retain?: boolean; qos?: 0 | 1 } = {};
  if (effect.retain === true) options.retain = true;
  if (effect.qos !== undefined) options.qos = effect.qos;
  return options;
}
