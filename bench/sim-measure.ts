// The measuring window shared by the fleet benchmarks: accepted vouchers counted after a
// warm-up, over a fixed window, with the broker process's resident memory sampled meanwhile.
import type { BrokerProcess } from '../simulator/world/broker-process.js';
import type { SimClock } from '../simulator/world/sim-clock.js';

export interface BenchResult {
  readonly devices: number;
  readonly kind: string;
  readonly payers: number;
  readonly vouchersPerSecond: number;
  readonly brokerRssPeakMb: number;
  readonly simRssMb: number;
  /** Share of one core each process used during the window (100 = one core fully busy). */
  readonly brokerCpuPercent: number;
  readonly simCpuPercent: number;
  readonly startupS: number;
  readonly auditOk: boolean;
  readonly failed: number;
}

const RSS_SAMPLE_MS = 250;

type Measured = Pick<BenchResult, 'vouchersPerSecond' | 'brokerRssPeakMb' | 'simRssMb' | 'brokerCpuPercent' | 'simCpuPercent'>;

export async function measure(input: { counter: { accepted: number }; warmupMs: number; windowMs: number; clock: SimClock; broker: BrokerProcess }): Promise<Measured> {
  const { counter, clock, broker } = input;
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, broker.rssBytes() ?? 0);
  };
  const sampler = setInterval(sample, RSS_SAMPLE_MS);
  try {
    await clock.sleep(input.warmupMs);
    const fromCount = counter.accepted;
    const fromMs = clock.nowMs();
    const fromBrokerCpuMs = broker.cpuMs() ?? 0;
    const fromSimCpu = process.cpuUsage();
    await clock.sleep(input.windowMs);
    const elapsedMs = clock.nowMs() - fromMs;
    const simCpu = process.cpuUsage(fromSimCpu);
    sample();
    return {
      vouchersPerSecond: ((counter.accepted - fromCount) * 1000) / elapsedMs,
      brokerRssPeakMb: peak / 1e6,
      simRssMb: process.memoryUsage().rss / 1e6,
      brokerCpuPercent: (((broker.cpuMs() ?? 0) - fromBrokerCpuMs) * 100) / elapsedMs,
      simCpuPercent: ((simCpu.user + simCpu.system) / 1000 * 100) / elapsedMs,
    };
  } finally {
    clearInterval(sampler);
  }
}
