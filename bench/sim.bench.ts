// Simulator benchmark: sustained vouchers/s and the broker's memory (resident set of the broker
// child process) at 500 and at 2,000 simulated devices, in one run so the figures compare:
//  - "real agents": the simulator's own fleet, one real agent per device (SQLite state, MQTT
//    connection, receipts), every buyer paying its seller back to back;
//  - "light links": a DeviceLink per device and vouchers signed directly (no agent, no local
//    SQLite), half the devices paying the other half back to back. Lighter for the simulating
//    process, so the broker, not the simulator, sets the pace.
// Set MQPAY_BENCH_SIM_CASES (e.g. "agents:500,links:2000") to run only some cases.
import { execFileSync } from 'node:child_process';
import { benchAgents } from './sim-agents.js';
import { benchLinks } from './sim-links.js';
import type { BenchResult } from './sim-measure.js';

const WARMUP_MS = 4_000;
const WINDOW_MS = 12_000;
const CASES = (process.env.MQPAY_BENCH_SIM_CASES ?? 'agents:500,agents:2000,links:500,links:2000').split(',').map((entry) => {
  const [kind, devices] = entry.split(':');
  return { kind: kind === 'links' ? 'links' : 'agents', devices: Number(devices) };
});

execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' }); // the broker runs from dist/mqpay.js
const results: BenchResult[] = [];
for (const { kind, devices } of CASES) {
  const result = kind === 'links' ? await benchLinks(devices, WARMUP_MS, WINDOW_MS) : await benchAgents(devices, WARMUP_MS, WINDOW_MS);
  results.push(result);
  console.log(
    `${String(result.devices).padStart(5)} devices, ${result.kind.padEnd(11)} ${String(result.payers).padStart(5)} payers: ` +
    `${result.vouchersPerSecond.toFixed(0).padStart(5)} vouchers/s sustained; broker RSS peak ${result.brokerRssPeakMb.toFixed(0)} MB; ` +
    `CPU broker ${result.brokerCpuPercent.toFixed(0)}%, simulator ${result.simCpuPercent.toFixed(0)}% of a core; simulator RSS ${result.simRssMb.toFixed(0)} MB; fleet up in ${result.startupS.toFixed(1)} s; audit ${result.auditOk ? 'ok' : 'FAILED'}${result.failed > 0 ? `; ${result.failed} payments failed` : ''}`,
  );
}
console.log(JSON.stringify(results.map((r) => ({ devices: r.devices, kind: r.kind, payers: r.payers, vouchers_per_s: Math.round(r.vouchersPerSecond), broker_rss_peak_mb: Math.round(r.brokerRssPeakMb), simulator_rss_mb: Math.round(r.simRssMb), broker_cpu_pct: Math.round(r.brokerCpuPercent), simulator_cpu_pct: Math.round(r.simCpuPercent), audit_ok: r.auditOk }))));
if (results.some((r) => !r.auditOk)) process.exitCode = 1;
