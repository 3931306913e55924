// A process that tries once for the settlement leadership (broker/store/postgres/leader.ts) and
// says what it got: "leader" (then holds it until killed) or "follower" (then exits). Bundled by
// test/helpers/leader-child-build.ts; the PostgreSQL races test runs two at once.
import { tryAcquireSettlementLeader } from '../../broker/store/postgres/leader.js';
import { createPool } from '../../broker/store/postgres/pool.js';

const url = process.argv[2];
if (url === undefined) throw new Error('usage: leader-child URL');
const pool = createPool(url, { size: 1 });
const leadership = await tryAcquireSettlementLeader(pool);
await pool.end();
if (leadership === null) {
  process.stdout.write('follower\n');
} else {
  process.stdout.write('leader\n');
  // Held until the test kills this process: the lock must go with its connection.
  setInterval(() => undefined, 60_000);
}
