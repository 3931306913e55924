// Long suite (npm run test:long). No device can slow another [docs/DESIGN.md rule 15]: payees that subscribe to their inbox and
// then stop reading, while payers stream vouchers to them, cost only themselves. An unrelated
// device's request round trip is measured unloaded (no vouchers flowing), then under the payers'
// load with the payees reading, then with them frozen; its p99 while they are frozen may not pass
// twice its unloaded p99 (a ratio in one test, with a floor of a few milliseconds, below which a
// shared two-core machine's timer and GC noise decide).
// The frozen phase lasts until the broker has dropped every frozen reader (it holds more than the
// outbound bound unsent). The payees are Python clients with a receive buffer of a few KiB
// (helpers/frozen-reader.ts): a paused Node socket on loopback lets the kernel absorb megabytes
// on both sides first, and ten of them were not dropped after 300 s; these fill in tens of seconds.
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceLink } from '../../agent/link/link.js';
import { auditLedger } from '../../broker/store/sqlite/audit.js';
import { amountOf } from '../../shared/amount.js';
import { toHex } from '../../shared/hex.js';
import { newChannelId } from '../../shared/ids.js';
import type { KeyPair } from '../../shared/keys.js';
import { random, signedVoucher, startBroker, type RunningBroker } from '../helpers/broker-fixture.js';
import { FrozenReader } from '../helpers/frozen-reader.js';

/** Round trips below this are noise here (timers, GC on two shared cores), not a stall. */
const P99_FLOOR_MS = 5;
const SAMPLES = 300;
/** The probe and the payers are held to no per-device rate here: the load is the point. */
const LOAD_CONFIG = { outboundBytesPerClientMax: 65_536, messagesPerSecondPerDevice: 1_000_000, messagesBurstPerDevice: 1_000_000 } as const;
/**
 * A frozen reader must have been dropped by then. Their small receive buffers leave one absorber:
 * the broker's own send buffer, which Linux grows to tcp_wmem's maximum (3.9 MB here) for a
 * sender held back by the receiver's window, and Node cannot cap (no SO_SNDBUF). Ten of them
 * fill in 25 to 40 s on a quiet two-core machine, longer on a loaded one.
 */
const FROZEN_PHASE_MS_MAX = 240_000;

let broker: RunningBroker | null = null;
const readers: FrozenReader[] = [];
afterEach(async () => {
  for (const reader of readers.splice(0)) reader.close();
  await broker?.stop();
  broker = null;
});

interface Payer {
  readonly keys: KeyPair;
  readonly link: DeviceLink;
  readonly channelId: Uint8Array;
  seq: bigint;
}

const p99 = (samples: number[]): number => [...samples].sort((a, b) => a - b)[Math.floor(samples.length * 0.99)] ?? Infinity;

async function roundTrips(probe: DeviceLink, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < count; index++) {
    const startedMs = performance.now();
    await probe.request('wallet.balance', {});
    samples.push(performance.now() - startedMs);
  }
  return samples;
}

/** Payers pay their payees in batches until stopped; returns the stop. */
function streamVouchers(payers: readonly Payer[]): () => Promise<void> {
  let running = true;
  const loops = payers.map(async (payer) => {
    while (running) {
      const batch: Promise<void>[] = [];
      for (let index = 0; index < 20; index++) {
        payer.seq += 1n;
        batch.push(payer.link.publish('voucher', signedVoucher(payer.keys, { channelId: payer.channelId, seq: payer.seq, total: amountOf(payer.seq) })));
      }
      await Promise.all(batch);
    }
  });
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}

async function scenario(running: RunningBroker, frozenCount: number): Promise<{ idle: number; reading: number; frozen: number; frozenSamples: number; frozenMs: number }> {
  const probe = await running.link('probe-1', running.enrol('probe-1', '1'));
  const payees: FrozenReader[] = [];
  const payers: Payer[] = [];
  for (let index = 0; index < frozenCount; index++) {
    const payee = await FrozenReader.start(running, `meter-${index}`, running.enrol(`meter-${index}`));
    readers.push(payee);
    payees.push(payee);
    const keys = running.enrol(`car-${index}`, '1000');
    const link = await running.link(`car-${index}`, keys);
    const channelId = newChannelId(random);
    await link.request('channel.open', { channel: toHex(channelId), payee: `meter-${index}`, deposit: '900', durationSeconds: 3600 });
    payers.push({ keys, link, channelId, seq: 0n });
  }
  await roundTrips(probe, 20); // warm up
  // Unloaded: the reference of the bound.
  const idle = p99(await roundTrips(probe, SAMPLES));
  const stop = streamVouchers(payers);
  try {
    const reading = p99(await roundTrips(probe, SAMPLES));
    // While they read, the payees kept up: none was dropped.
    expect(running.app.service.telemetry.slowClientsDropped).toBe(0);
    // The payees stop reading. Their sockets fill, and the round trips go on being measured
    // until the broker has dropped every one of them: the whole time a frozen reader could have
    // held the others up.
    await Promise.all(payees.map((payee) => payee.freeze()));
    const frozenSamples: number[] = [];
    const frozenAtMs = performance.now();
    const deadline = frozenAtMs + FROZEN_PHASE_MS_MAX;
    while (running.app.service.telemetry.slowClientsDropped < payees.length) {
      if (performance.now() > deadline) throw new Error(`only ${running.app.service.telemetry.slowClientsDropped} of ${payees.length} frozen payees dropped`);
      frozenSamples.push(...await roundTrips(probe, 20));
    }
    return { idle, reading, frozen: p99(frozenSamples), frozenSamples: frozenSamples.length, frozenMs: performance.now() - frozenAtMs };
  } finally {
    await stop();
  }
}

describe('frozen payees cost only themselves', () => {
  it.each([1, 10])('%i frozen payee(s): an unrelated device\'s request p99 stays within twice its unloaded p99', async (count) => {
    broker = await startBroker(LOAD_CONFIG);
    const { idle, reading, frozen, frozenSamples, frozenMs } = await scenario(broker, count);
    console.log(`${count} frozen: request p99 ${idle.toFixed(2)} ms idle, ${reading.toFixed(2)} ms under load with the payees reading, ${frozen.toFixed(2)} ms frozen (${frozenSamples} round trips in ${(frozenMs / 1000).toFixed(1)} s until all were dropped; ratio to unloaded ${(frozen / idle).toFixed(2)})`);
    expect(frozen).toBeLessThanOrEqual(2 * Math.max(idle, P99_FLOOR_MS));
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
  }, 400_000);

});
