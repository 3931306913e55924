// Broker benchmarks, all measured in this one run so the ratios compare like with like:
//  1. raw aedes QoS 1 relay of messages the size of a signed voucher message;
//  2. native ed25519 verify rate on one core;
//  3. mqpay end to end: signed vouchers published at QoS 1, verified, group-committed to SQLite,
//     answered "accepted" and forwarded to the payee;
//  4. one settlement epoch over 100k changed channels (and over 1k changed among 100k).
import { cpus } from 'node:os';
import { randomBytes } from 'node:crypto';
import { DeviceLink } from '../agent/link/link.js';
import { amountOf } from '../shared/amount.js';
import { sign, verify } from '../shared/crypto.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { encodePayload } from '../shared/schemas.js';
import { inboxTopic, outboxTopic } from '../shared/topics.js';
import { encodeVoucher } from '../shared/voucher.js';
import { benchEpoch } from './epoch.js';
import { benchPassword, enrolBenchPair, rawRelay, runLoad, startBenchBroker } from './mqtt-load.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
const VOUCHERS_PER_PAYER = Number(process.env.MQPAY_BENCH_VOUCHERS ?? 10_000);
const PAYERS = 4;

function voucherPayloads(keys: KeyPair, channelId: Uint8Array, count: number): string[] {
  const expiresAtSeconds = BigInt(Math.floor(Date.now() / 1000) + 3600);
  const out: string[] = [];
  for (let seq = 1n; seq <= BigInt(count); seq++) {
    const bytes = encodeVoucher({ channelId, seq, total: amountOf(seq * 125n), expiresAtSeconds, memoDigest: null });
    out.push(new TextDecoder().decode(encodePayload({ v: 2, voucher: toHex(bytes), signature: toHex(sign(bytes, keys.secretKey)) })));
  }
  return out;
}

function nativeVerifyRate(): number {
  const keys = generateKeyPair(random);
  const message = encodeVoucher({ channelId: random(32), seq: 1n, total: amountOf(125n), expiresAtSeconds: 1n << 40n, memoDigest: null });
  const signature = sign(message, keys.secretKey);
  const started = performance.now();
  let count = 0;
  while (performance.now() - started < 1_000) {
    for (let i = 0; i < 200; i++) if (verify(signature, message, keys.publicKey)) count += 1;
  }
  return (count / (performance.now() - started)) * 1000;
}

async function mqpayEndToEnd(): Promise<{ rate: number; payloadBytes: number; rssMb: number }> {
  const { app, url, close } = await startBenchBroker();
  const clock = { nowMs: () => Date.now() };
  const publishers = [];
  let payloadBytes = 0;
  for (let i = 0; i < PAYERS; i++) {
    const { payer, payee } = enrolBenchPair(app, i);
    const link = await DeviceLink.connect({ url, device: `payer-${i}`, secretKey: payer.secretKey, brokerId: 'mqpay', clock, random });
    const channelId = newChannelId(random);
    await link.request('channel.open', { channel: toHex(channelId), payee: `payee-${i}`, deposit: '500', durationSeconds: 3600 });
    await link.close();
    const payloads = voucherPayloads(payer, channelId, VOUCHERS_PER_PAYER);
    payloadBytes = payloads[0]?.length ?? 0;
    publishers.push({ clientId: `payer-${i}`, username: `payer-${i}`, password: benchPassword(`payer-${i}`, payer), topic: outboxTopic(`payer-${i}`, 'voucher'), replyTopic: inboxTopic(`payer-${i}`, 'voucher'), payloads });
    publishers.push({ clientId: `payee-${i}`, username: `payee-${i}`, password: benchPassword(`payee-${i}`, payee), topic: outboxTopic(`payee-${i}`, 'voucher'), replyTopic: inboxTopic(`payee-${i}`, 'voucher'), payloads: [] });
  }
  const total = PAYERS * VOUCHERS_PER_PAYER;
  // Each voucher yields two messages: "accepted" to the payer and the forward to the payee.
  const result = await runLoad({ url, publishers, expectReplies: total * 2, replyMatch: '' });
  const accepted = app.service.telemetry.vouchersAccepted;
  if (accepted !== total) throw new Error(`expected ${total} accepted, got ${accepted}`);
  const rssMb = process.memoryUsage().rss / 1e6;
  await close();
  return { rate: (total / result.elapsedMs) * 1000, payloadBytes, rssMb };
}

const verifyRate = nativeVerifyRate();
const endToEnd = await mqpayEndToEnd();
const relayRate = await rawRelay(endToEnd.payloadBytes, PAYERS * VOUCHERS_PER_PAYER, PAYERS);
// The broker verifies voucher signatures on one worker thread beside its event loop, so it can
// use two cores; on this machine the load generator shares them (it runs in the same process).
const coresUsable = Math.min(cpus().length, 2);
const bound = Math.min(relayRate, verifyRate * coresUsable);
const epoch = process.env.MQPAY_BENCH_SKIP_EPOCH === "1" ? { allChangedMs: 0, fewChangedMs: 0 } : benchEpoch(100_000);

const report = {
  vouchers: PAYERS * VOUCHERS_PER_PAYER,
  payload_bytes: endToEnd.payloadBytes,
  native_verify_per_s: Math.round(verifyRate),
  raw_aedes_qos1_relay_per_s: Math.round(relayRate),
  mqpay_vouchers_end_to_end_per_s: Math.round(endToEnd.rate),
  ratio_to_relay: +(endToEnd.rate / relayRate).toFixed(3),
  ratio_to_verify: +(endToEnd.rate / verifyRate).toFixed(3),
  cores_usable: coresUsable,
  ratio_to_target_bound: +(endToEnd.rate / bound).toFixed(3),
  target_ratio: 0.8,
  broker_rss_mb_after_run: Math.round(endToEnd.rssMb),
  epoch_100k_changed_channels_ms: Math.round(epoch.allChangedMs),
  epoch_1k_changed_of_100k_ms: +epoch.fewChangedMs.toFixed(1),
  epoch_target_ms: 1000,
};
console.log(`native verify:            ${report.native_verify_per_s}/s (one core)`);
console.log(`raw aedes QoS 1 relay:    ${report.raw_aedes_qos1_relay_per_s} msg/s (${report.payload_bytes}-byte payloads)`);
console.log(`mqpay end to end:         ${report.mqpay_vouchers_end_to_end_per_s} vouchers/s (verify + commit + accepted + forward)`);
console.log(`  ratio to one core's verify rate: ${report.ratio_to_verify}; to the relay: ${report.ratio_to_relay}`);
console.log(`  ratio to min(relay, verify x ${coresUsable} cores): ${report.ratio_to_target_bound} (target >= 0.8)`);
console.log(`epoch, 100k changed channels: ${report.epoch_100k_changed_channels_ms} ms (target < 1000 ms)`);
console.log(`epoch, 1k changed of 100k:    ${report.epoch_1k_changed_of_100k_ms} ms`);
console.log(JSON.stringify(report));
