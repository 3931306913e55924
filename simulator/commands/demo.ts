// `mqpay demo` (what `npm start` runs): a few dozen mixed devices paying each other on the
// broker until Ctrl-C, with a couple of rogues trying their luck, and directions for watching
// it from another terminal. Ctrl-C winds the fleet down, settles and prints the summary.
import type { Command } from '../../cli/command.js';
import { systemRandom } from '../../broker/app.js';
import { withInterrupt } from '../run/interrupt.js';
import { runSimulation } from '../run/run.js';
import type { ReadyInfo } from '../run/sim-io.js';
import { runSucceeded } from '../verdict/report.js';
import { summaryText } from '../verdict/summary.js';
import { systemSimClock } from '../world/sim-clock.js';
import { closeWorld } from '../world/sim-world.js';
import { commonOptions, simOptionsOf } from './options.js';

/** A livelier pace than `sim` (half the gaps between a buyer's actions), so there is always something to watch. */
export const DEMO_DEFAULTS = { devices: 36, malicious: 2, dropRate: 0.002, intensity: 2 } as const;

/** Whether the broker's HTTP port serves a page at / (the dashboard of the operator API). */
async function hasDashboard(httpPort: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${httpPort}/`, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

async function directions(info: ReadyInfo): Promise<string> {
  const lines = [
    `mqpay demo: ${info.devices} devices are paying each other. Watch from another terminal:`,
    `  operator stream   mosquitto_sub -h 127.0.0.1 -p ${info.mqttPort} -u operator -P ${info.operatorToken} -i ops:watch -t 'mqpay/v1/ops/#' -v`,
    `  settlements       node dist/mqpay.js settlements --data ${info.dataDir}`,
    `  ledger audit      node dist/mqpay.js ledger check --data ${info.dataDir}`,
  ];
  if (info.httpPort !== null) {
    const url = `http://127.0.0.1:${info.httpPort}/`;
    lines.push((await hasDashboard(info.httpPort)) ? `  dashboard         ${url} (operator token: ${info.operatorToken})` : `  operator HTTP     ${url} (no dashboard in this build yet; ${url}healthz answers)`);
  }
  lines.push('Ctrl-C stops the fleet, settles everything and prints the summary.', '');
  return lines.join('\n');
}

export const demoCommand: Command = {
  name: ['demo'],
  summary: 'run a demo fleet on the broker until Ctrl-C, and show where to watch it',
  positionals: [],
  options: { ...commonOptions, 'http-port': { type: 'string', description: 'HTTP port of the operator API (default: a free one)' } },
  async run(input) {
    const options = simOptionsOf(input, { devices: DEMO_DEFAULTS.devices, durationMs: Infinity, malicious: DEMO_DEFAULTS.malicious, dropRate: DEMO_DEFAULTS.dropRate, httpPort: 0, intensity: DEMO_DEFAULTS.intensity });
    input.stderr(`mqpay demo: starting the broker and ${options.devices} devices (seed ${options.seed})...`);
    return withInterrupt(input.stderr, async (stop) => {
      const { facts, world } = await runSimulation(options, {
        clock: systemSimClock, random: systemRandom, progress: (text) => input.io.stderr.write(text), note: input.stderr, isTty: input.io.stderr.isTTY === true, stop,
        onReady: (info) => void directions(info).then((text) => input.stdout(text)),
      });
      input.stdout(summaryText(facts, 'mqpay demo'));
      await closeWorld(world, false);
      input.stdout(`ledger kept in ${world.dataDir}`);
      return runSucceeded(facts) ? 0 : 1;
    });
  },
};
