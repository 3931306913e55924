// The agent's home lock survives power cuts: it is an OS lock (an exclusive SQLite lock), so an
// agent killed with SIGKILL leaves nothing that stops the next start, while a second agent on a
// home that is in use is refused with an error naming the home. An old-style pid file naming a
// live, unrelated process (after a reboot, pids are reused) does not block a start either.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lockHome } from '../agent/home/home-lock.js';
import { MqpayError } from '../shared/errors.js';
import type { RunningBroker } from './helpers/broker-fixture.js';
import { AgentBed, agentBedPerTest } from './helpers/agent-fixture.js';
import { buildAgentChild, runAgentChild } from './helpers/agent-child-build.js';

const RESTARTS = 6;

function refusalOf(home: string): MqpayError {
  try {
    lockHome(home)();
  } catch (error) {
    if (error instanceof MqpayError) return error;
    throw error;
  }
  throw new Error(`the lock of ${home} was free while an agent ran there`);
}

describe('agent home lock', () => {
  let script: string;
  const fresh = agentBedPerTest();
  let broker: RunningBroker;
  let bed: AgentBed;

  beforeAll(async () => {
    script = await buildAgentChild();
  });
  afterAll(() => rmSync(script, { force: true }));
  beforeEach(() => {
    broker = fresh.broker();
    bed = fresh.bed();
  });

  it(`an agent SIGKILLed and restarted at once, ${RESTARTS} times, starts every time; meanwhile a second agent is refused`, async () => {
    const home = bed.home('car-lock', { funds: '1' });
    for (let round = 1; round <= RESTARTS; round++) {
      const run = runAgentChild(script, [home, broker.url, 'idle']);
      await run.waitFor(/^ready$/);
      const refusal = refusalOf(home);
      expect(refusal.code).toBe('HOME_LOCKED');
      expect(refusal.message).toContain(`another agent is already running on home ${home}`);
      // A second agent process on the same home: refused, with the same message, and exits.
      const second = runAgentChild(script, [home, broker.url, 'idle']);
      await expect(second.waitFor(/^ready$/)).rejects.toThrow(`another agent is already running on home ${home}`);
      expect((await second.exited).code).toBe(1);
      run.child.kill('SIGKILL');
      expect((await run.exited).signal).toBe('SIGKILL');
    }
    // After the last kill, an in-process agent takes the home and works.
    const agent = await bed.start(home);
    expect(agent.device).toBe('car-lock');
  });

  it('an old pid file naming a live unrelated process (this test) does not prevent a start', async () => {
    const home = bed.home('car-stale', { funds: '1' });
    writeFileSync(join(home, 'agent.lock'), `${process.pid}\n`);
    const run = runAgentChild(script, [home, broker.url, 'idle']);
    await run.waitFor(/^ready$/);
    expect(existsSync(join(home, 'agent.lock'))).toBe(false);
    run.child.kill('SIGKILL');
    await run.exited;
  });
});
