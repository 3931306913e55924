// A small fleet paying steadily in the background, for the dashboard test: several payer/payee
// pairs over real MQTT channels, each paying bursts of signed vouchers at its own varying pace.
import type { RunningBroker } from './broker-fixture.js';
import { openPayingChannel, type PayingChannel } from './ops-fixture.js';

export interface FleetPair {
  readonly payer: string;
  readonly payee: string;
  readonly step: string;
  /** Vouchers per 200 ms tick, before the wave. */
  readonly burst: number;
}

export interface Traffic {
  readonly channels: readonly PayingChannel[];
  stop(): Promise<void>;
}

const TICK_MS = 200;

export async function startTraffic(broker: RunningBroker, pairs: readonly FleetPair[]): Promise<Traffic> {
  const channels: PayingChannel[] = [];
  for (const pair of pairs) channels.push(await openPayingChannel(broker, pair, { funds: '50', deposit: '20', step: pair.step }));
  let running = true;
  const loops = channels.map(async (channel, index) => {
    const pair = pairs[index] as FleetPair;
    for (let tick = 0; running; tick++) {
      // A slow wave per channel so the vouchers/s chart has some shape.
      const count = Math.max(1, Math.round(pair.burst * (1 + 0.6 * Math.sin(tick / 6 + index))));
      await channel.pay(count);
      // Pacing the load (a steady stream for the charts), not waiting for anything: tests
      // synchronise on what the broker reports, never on this tick.
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
  });
  return {
    channels,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
