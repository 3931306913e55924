// Hash-chain ticks, measured in one run against their reference:
//  1. mqpay end to end: payers publish a signed checkpoint, then tick frames (85 bytes) at QoS 0;
//     the service checks each with one hash, group-commits the highest tick to SQLite, answers
//     the payer with a verdict and forwards the highest tick to the payee, once per channel per
//     batch (the verdict for index i answers every lower one); timed until each payer has the
//     verdict for its last tick;
//  2. a raw aedes QoS 0 relay of payloads of the same size (one in, one out).
// Figure: ticks end to end per second / relay messages per second (goal >= 0.8, issue 13). The
// figures go out as bench/figures.ts says (the last line of stdout).
// The devices are MQTT.js clients in the load worker, publishing prepared frames (as
// broker.bench.ts does for vouchers), not agent processes: what is measured is the service's path.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { DeviceLink } from '../agent/link/link.js';
import { parseAmount } from '../shared/amount.js';
import { encodeCheckpoint } from '../shared/checkpoint.js';
import { sign } from '../shared/crypto.js';
import { HashChain } from '../shared/hash-chain.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import type { KeyPair } from '../shared/keys.js';
import { encodeSignedCheckpoint } from '../shared/tick-frames.js';
import { decodeTickVerdict, encodeTickVerdict } from '../shared/tick-verdict.js';
import { encodeTick, TICK_BYTES } from '../shared/tick.js';
import { inboxTopic, outboxTopic } from '../shared/topics.js';
import { printFigures, round, type Figures } from './figures.js';
import { benchPassword, enrolBenchPair, rawRelay, runLoad, startBenchBroker } from './mqtt-load.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
const TICKS_PER_PAYER = Number(process.env.MQPAY_BENCH_TICKS ?? 10_000);
const PAYERS = 4;

/** Opens a channel for one payer and returns its checkpoint (published and accepted) and its tick frames. */
async function preparePayer(url: string, i: number, payer: KeyPair): Promise<{ payloads: Uint8Array[]; endMarker: string }> {
  const clock = { nowMs: () => Date.now() };
  const link = await DeviceLink.connect({ url, device: `payer-${i}`, secretKey: payer.secretKey, brokerId: 'mqpay', clock, random });
  const channelId = newChannelId(random);
  await link.request('channel.open', { channel: toHex(channelId), payee: `payee-${i}`, deposit: '500', durationSeconds: 3600 });
  const chain = new HashChain(random(32), TICKS_PER_PAYER);
  const bytes = encodeCheckpoint({ channelId, seq: 1n, total: parseAmount('0'), expiresAtSeconds: BigInt(Math.floor(Date.now() / 1000) + 3600), chainRoot: chain.root, chainLength: TICKS_PER_PAYER, pricePerTick: parseAmount('0.000001') });
  const verdict = new Promise<Uint8Array>((resolve) => link.once('inbox', (_box: string, payload: Uint8Array) => resolve(payload)));
  await link.publishFrame('tick', encodeSignedCheckpoint(bytes, sign(bytes, payer.secretKey)));
  const code = decodeTickVerdict(await verdict).code;
  if (code !== null) throw new Error(`checkpoint refused: ${code}`);
  await link.close();
  const payloads = Array.from({ length: TICKS_PER_PAYER }, (_, k) => encodeTick({ channelId, checkpointSeq: 1n, index: k + 1, preimage: chain.link(k + 1) }));
  // The verdict for the last tick (its header, channel, seq and whole index; not its total): it
  // answers every tick before it. The header is tag, version and kind: 10 bytes.
  const last = encodeTickVerdict({ channelId, checkpointSeq: 1n, index: TICKS_PER_PAYER, total: parseAmount('0.000001'), code: null });
  return { payloads, endMarker: toHex(last.subarray(0, 8 + 1 + 1 + 32 + 8 + 4)) };
}

async function ticksEndToEnd(): Promise<{ rate: number; cpuUsPerTick: number }> {
  const { app, url, close } = await startBenchBroker();
  const publishers = [];
  const endMarkers: string[] = [];
  for (let i = 0; i < PAYERS; i++) {
    const { payer, payee } = enrolBenchPair(app, i);
    const { payloads, endMarker } = await preparePayer(url, i, payer);
    endMarkers.push(endMarker);
    publishers.push({ clientId: `payer-${i}`, username: `payer-${i}`, password: benchPassword(`payer-${i}`, payer), topic: outboxTopic(`payer-${i}`, 'tick'), replyTopic: inboxTopic(`payer-${i}`, 'tick'), replyQos: 1, qos: 0, payloads });
    publishers.push({ clientId: `payee-${i}`, username: `payee-${i}`, password: benchPassword(`payee-${i}`, payee), topic: outboxTopic(`payee-${i}`, 'tick'), replyTopic: inboxTopic(`payee-${i}`, 'tick'), replyQos: 1, payloads: [] });
  }
  const total = PAYERS * TICKS_PER_PAYER;
  // Ticks committed together are answered by one verdict (and one copy to the payee) for the
  // highest: the run ends when every payer has the verdict for its last tick.
  const result = await runLoad({ url, publishers, expectReplies: total * 2, endMarkers });
  const settled = app.db.prepare("SELECT COALESCE(SUM(highest_index), 0) AS n FROM chains").get() as { n: bigint };
  if (Number(settled.n) !== total) throw new Error(`expected ${total} ticks stored, got ${settled.n}`);
  await close();
  return { rate: (total / result.elapsedMs) * 1000, cpuUsPerTick: result.brokerCpuUs / total };
}

const { rate: ticksRate, cpuUsPerTick } = await ticksEndToEnd();
const relay = await rawRelay(TICK_BYTES, PAYERS * TICKS_PER_PAYER, { payers: PAYERS, publishQos: 0, copies: 1 });
const figures: Figures = {
  ticks: { value: PAYERS * TICKS_PER_PAYER, unit: 'ticks', reference: `${PAYERS} payers, one channel and one chain each` },
  tick_payload_bytes: { value: TICK_BYTES, unit: 'bytes', reference: 'one tick frame (MQPAY-TK) as published' },
  cores: { value: availableParallelism(), unit: 'cores', reference: 'os.availableParallelism()' },
  ticks_per_s: { value: Math.round(ticksRate), unit: 'ticks/s', reference: 'one hash + group commit + verdict and forward per batch, end to end' },
  relay_qos0_messages_per_s: { value: Math.round(relay.rate), unit: 'messages/s', reference: 'raw aedes, QoS 0 in, one QoS 0 out, same payload size' },
  ticks_to_relay: { value: round(ticksRate / relay.rate), unit: 'ratio', reference: 'ticks_per_s / relay_qos0_messages_per_s', goal: '>= 0.8' },
  // CPU rather than wall time: on a shared machine these two move less with the other load.
  broker_cpu_us_per_tick: { value: round(cpuUsPerTick), unit: 'us', reference: 'the broker process\'s CPU (all threads) over the ticks run / ticks' },
  relay_cpu_us_per_message: { value: round(relay.cpuUsPerMessage), unit: 'us', reference: 'the raw aedes process\'s CPU over the relay run / messages' },
};
console.log(`raw aedes QoS 0 relay:  ${figures.relay_qos0_messages_per_s?.value} msg/s (${TICK_BYTES}-byte payloads, one in, one out)`);
console.log(`mqpay ticks end to end: ${figures.ticks_per_s?.value} ticks/s (one hash + group commit + verdict and forward per batch)`);
console.log(`  ratio ticks / relay: ${figures.ticks_to_relay?.value} (goal >= 0.8)`);
console.log(`  broker CPU per tick: ${figures.broker_cpu_us_per_tick?.value} us; raw relay CPU per message: ${figures.relay_cpu_us_per_message?.value} us`);
printFigures('ticks', figures);
