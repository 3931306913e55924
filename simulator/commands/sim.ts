// `mqpay sim`: one seeded run with faults and attackers, a summary table, an optional JSON
// report, and an exit code that says whether the money held up.
import { writeFileSync } from 'node:fs';
import type { Command } from '../../cli/command.js';
import { systemRandom } from '../../broker/app.js';
import { withInterrupt } from '../run/interrupt.js';
import { runSimulation, type SimOptions } from '../run/run.js';
import { buildReport, runSucceeded } from '../verdict/report.js';
import { summaryText } from '../verdict/summary.js';
import { systemSimClock } from '../world/sim-clock.js';
import { closeWorld } from '../world/sim-world.js';
import { clusterOptions, commonOptions, SIM_DEFAULTS, simOptionsOf } from './options.js';

const clusterFaultsText = (options: SimOptions): string => [
  options.killWorkerEverySeconds == null ? '' : `, a worker killed every ${options.killWorkerEverySeconds} s`,
  options.stopNodeEverySeconds == null ? '' : `, RabbitMQ node B stopped every ${options.stopNodeEverySeconds} s`,
  options.restartPostgresEverySeconds == null ? '' : `, PostgreSQL restarted every ${options.restartPostgresEverySeconds} s`,
].join('');

export const simCommand: Command = {
  name: ['sim'],
  summary: 'simulate a fleet (real broker, real agents) with faults and attackers; exit 0 only if no money went astray',
  positionals: [],
  options: {
    ...commonOptions,
    ...clusterOptions,
    duration: { type: 'string', description: 'seconds to run', default: String(SIM_DEFAULTS.durationS) },
    report: { type: 'string', description: 'write the JSON report to FILE' },
  },
  async run(input) {
    const options = simOptionsOf(input, { devices: SIM_DEFAULTS.devices, durationMs: SIM_DEFAULTS.durationS * 1000, malicious: 0, dropRate: 0, httpPort: null, intensity: 1 });
    input.stderr(`mqpay sim: seed ${options.seed}, ${options.devices} devices (${options.malicious} malicious), ${options.durationMs / 1000} s${options.cluster == null ? '' : `, on a cluster of ${options.cluster.workers} workers`}${options.killBrokerEverySeconds === null ? '' : `, broker killed every ${options.killBrokerEverySeconds} s`}${clusterFaultsText(options)}${options.dropRate > 0 ? `, drop rate ${options.dropRate}/s` : ''}; starting...`);
    return withInterrupt(input.stderr, async (stop) => {
      const { facts, world } = await runSimulation(options, { clock: systemSimClock, random: systemRandom, progress: (text) => input.io.stderr.write(text), note: input.stderr, isTty: input.io.stderr.isTTY === true, stop });
      const ok = runSucceeded(facts);
      input.stdout(summaryText(facts));
      const reportFile = input.values.report;
      if (typeof reportFile === 'string') {
        writeFileSync(reportFile, `${JSON.stringify(buildReport(facts), null, 2)}\n`);
        input.stdout(`report: ${reportFile}`);
      }
      await closeWorld(world, ok);
      if (!ok && world.temporary) input.stdout(`data kept for inspection: ${world.dataDir}`);
      return ok ? 0 : 1;
    });
  },
};
