// Reads for crash tests: one value from an agent's own SQLite state (opened read-only, e.g.
// after its process was killed) and the service's double-sign evidence count.
import { statePathOf } from '../../agent/home/home.js';
import { openState } from '../../agent/store/open-state.js';
import type { RunningBroker } from './broker-fixture.js';

/** The column `n` of the one row `sql` selects from the agent's state at `home`. */
export function agentStateValue(home: string, sql: string): bigint {
  const db = openState(statePathOf(home), { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: bigint }).n;
  } finally {
    db.close();
  }
}

/** Rows of double-sign evidence the service recorded (a seq signed with two totals). */
export const doubleSignCount = (broker: RunningBroker): bigint => (broker.app.db.prepare('SELECT count(*) AS n FROM double_signs').get() as { n: bigint }).n;
