// A power cut for an agent in this process: everything it committed without an fsync is lost.
// The agent's faults hook `afterDurableCommit` runs right after each fsync'd commit, before any
// other write (the agent's group commit is synchronous), and keeps a copy of the state file then;
// `cut()` puts the last copy in place of the stopped agent's state (its WAL and index dropped),
// which is all a power cut leaves on the disk.
import { copyFileSync, rmSync } from 'node:fs';
import { statePathOf } from '../../agent/home/home.js';
import type { AgentFaults } from '../../agent/context.js';
import { openState } from '../../agent/store/open-state.js';

export class PowerCut {
  private readonly statePath: string;
  private readonly copy: string;
  /** Durable commits seen. */
  commits = 0;
  readonly faults: AgentFaults = { afterDurableCommit: () => this.keep() };

  constructor(home: string) {
    this.statePath = statePathOf(home);
    this.copy = `${this.statePath}.at-fsync`;
  }

  /** One row of `sql` from the state as of the last fsync. */
  row<T>(sql: string): T {
    const db = openState(this.copy, { readonly: true });
    try {
      return db.prepare(sql).get() as T;
    } finally {
      db.close();
    }
  }

  /** The agent is stopped: its state becomes what the last fsync left. */
  cut(): void {
    if (this.commits === 0) throw new Error('no durable commit seen: nothing survives the cut');
    for (const suffix of ['-wal', '-shm']) rmSync(`${this.statePath}${suffix}`, { force: true });
    copyFileSync(this.copy, this.statePath);
  }

  private keep(): void {
    rmSync(this.copy, { force: true });
    const db = openState(this.statePath, { readonly: true });
    try {
      db.exec(`VACUUM INTO '${this.copy}'`);
    } finally {
      db.close();
    }
    this.commits += 1;
  }
}
