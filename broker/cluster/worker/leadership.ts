// Who settles in a cluster [docs/DESIGN.md rule 16]: one worker at a time runs epochs, early
// settlement and the offer sweep. Over PostgreSQL every worker contends for the advisory lock of
// broker/store/postgres/leader.ts, on its own connection: the holder leads until its session
// ends (a killed worker's lock is released with its connection) and the others try again every
// LEADER_RETRY_MS. Over SQLite (one machine) the worker started with `--leader` leads.
import type pg from 'pg';
import type { Logger } from 'pino';
import { LEADER_RETRY_MS } from '../../limits.js';
import type { SettlementService } from '../../service/service.js';
import { tryAcquireSettlementLeader, type SettlementLeadership } from '../../store/postgres/leader.js';

export interface Leadership {
  /** Whether this worker settles now. */
  readonly leading: boolean;
  /** Gives the lead up (and the lock, if held). */
  close(): Promise<void>;
}

/** The worker started with `--leader` leads for its whole life (a SQLite store). */
export function fixedLeadership(service: SettlementService, leading: boolean): Leadership {
  service.lead(leading);
  return {
    leading,
    async close() {
      service.lead(false);
    },
  };
}

/** Contends for the PostgreSQL leader lock until closed; leads while it holds it. Resolves after the first try. */
export async function lockedLeadership(pool: pg.Pool, service: SettlementService, logger: Logger): Promise<Leadership> {
  let held: SettlementLeadership | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  const retry = (): void => {
    if (closed) return;
    timer = setTimeout(() => void attempt(), LEADER_RETRY_MS);
    timer.unref();
  };
  const attempt = async (): Promise<void> => {
    const got = await tryAcquireSettlementLeader(pool).catch((error: unknown) => {
      logger.warn({ err: error }, 'could not try the settlement leader lock; trying again');
      return null;
    });
    if (got === null) return retry();
    if (closed) return void got.release();
    held = got;
    service.lead(true);
    logger.info('settlement lead taken');
    void got.lost.then(() => {
      if (held !== got) return;
      held = null;
      service.lead(false);
      logger.warn('settlement lead lost with its connection; trying again');
      retry();
    });
  };
  await attempt();
  return {
    get leading() {
      return held !== null;
    },
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      service.lead(false);
      const releasing = held;
      held = null;
      await releasing?.release();
    },
  };
}
