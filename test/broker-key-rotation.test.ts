// Key rotation through the real broker [docs/DESIGN.md rule 12], device by device over real MQTT:
// a device rotates with a request signed by its old and its new key; every open channel where it
// pays or is paid gets a re-issued certificate (both parties are sent it); vouchers and connect
// tokens signed with the old key are refused from then on (KEY_ROTATED), those accepted before
// still settle and re-verify (`ledger check --verify-signatures`); bad, replayed, reused and
// small-order keys are refused; an operator re-keys a lost device through the CLI and the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceLink } from '../agent/link/link.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { getDevice } from '../broker/store/sqlite/devices.js';
import { decodeCertificate } from '../shared/certificate.js';
import { sign } from '../shared/crypto.js';
import { fromHex, toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import { encodeKeyRotation, signKeyRotation } from '../shared/key-rotation.js';
import { generateKeyPair, type KeyPair } from '../shared/keys.js';
import { amountOf } from '../shared/amount.js';
import type { OpsEvent } from '../shared/ops-events.js';
import { nextInbox, payVoucher, random, signedVoucher } from './helpers/broker-fixture.js';
import { startOpsBroker, type OpsBroker } from './helpers/ops-fixture.js';
import { runCli } from './helpers/ops-cli.js';
import { OPERATOR_TOKEN } from './helpers/broker-fixture.js';

const micro = (n: bigint) => amountOf(n);
const IDENTITY_POINT = '0100000000000000000000000000000000000000000000000000000000000000';

function rotationParams(device: string, current: KeyPair, next: KeyPair, timeMs = Date.now()) {
  const signed = signKeyRotation({ device, timeMs, current, next, sign });
  return { rotation: toHex(signed.bytes), signature: toHex(signed.signature), newSignature: toHex(signed.newSignature) };
}

/** The certificate notice for `channel` at `revision`, as the device receives it. */
function certificateNotice(link: DeviceLink, channel: Uint8Array, revision: number): Promise<Record<string, unknown>> {
  return nextInbox(link, 'notice', (m) => {
    if (m.type !== 'channel.certificate') return false;
    const certificate = decodeCertificate(fromHex(String(m.certificate)));
    return toHex(certificate.channelId) === toHex(channel) && certificate.revision === revision;
  });
}

describe('broker: key rotation', () => {
  let broker: OpsBroker;
  let carKeys: KeyPair;
  let meterKeys: KeyPair;
  let car: DeviceLink;
  let meter: DeviceLink;
  const events: OpsEvent[] = [];

  beforeAll(async () => {
    broker = await startOpsBroker({ closeWindowSeconds: 600 });
    broker.app.service.telemetry.on((event) => {
      if (event.kind === 'ops.event') events.push(event.event);
    });
    carKeys = broker.enrol('car-5', '10');
    meterKeys = broker.enrol('meter-5', '10');
    car = await broker.link('car-5', carKeys);
    meter = await broker.link('meter-5', meterKeys);
  });
  afterAll(async () => {
    await broker.stop();
  });

  async function open(from: DeviceLink, to: string): Promise<Uint8Array> {
    const channelId = newChannelId(random);
    await from.request('channel.open', { channel: toHex(channelId), payee: to, deposit: '5', durationSeconds: 3_600 });
    return channelId;
  }

  it('rotates: certificates re-issued to both parties, old-key vouchers and tokens refused, new-key ones accepted, earlier ones settle and verify', async () => {
    const paying = await open(car, 'meter-5'); // car pays
    const paid = await open(meter, 'car-5'); // car is paid
    expect(await payVoucher(car, signedVoucher(carKeys, { channelId: paying, seq: 1n, total: micro(100n) }))).toMatchObject({ type: 'voucher.accepted' });
    expect((await broker.app.service.settleNow()).kind).toBe('settled'); // seq 1 settled under the old key
    // Kept as sent: a re-send must be these exact bytes (signedVoucher's expiry follows the clock).
    const beforeRotation = signedVoucher(carKeys, { channelId: paying, seq: 2n, total: micro(300n) });
    expect(await payVoucher(car, beforeRotation)).toMatchObject({ type: 'voucher.accepted' });

    const newKeys = generateKeyPair(random);
    const noticesToMeter = [certificateNotice(meter, paying, 2), certificateNotice(meter, paid, 2)];
    const noticesToCar = [certificateNotice(car, paying, 2), certificateNotice(car, paid, 2)];
    const result = await car.request('device.rotate', rotationParams('car-5', carKeys, newKeys));
    expect(result).toEqual({ device: 'car-5', publicKey: toHex(newKeys.publicKey), certificates: 2 });
    for (const notice of [...await Promise.all(noticesToMeter), ...await Promise.all(noticesToCar)]) {
      const certificate = decodeCertificate(fromHex(String(notice.certificate)));
      const carKey = certificate.payer === 'car-5' ? certificate.payerKey : certificate.payeeKey;
      expect(toHex(carKey)).toBe(toHex(newKeys.publicKey));
      expect(toHex(certificate.payer === 'car-5' ? certificate.payeeKey : certificate.payerKey)).toBe(toHex(meterKeys.publicKey));
    }
    expect(toHex(getDevice(broker.app.db, 'car-5')?.publicKey ?? new Uint8Array())).toBe(toHex(newKeys.publicKey));
    expect(getChannel(broker.app.db, paying)?.revision).toBe(2);
    expect(events).toContainEqual(expect.objectContaining({ type: 'device.rekeyed', device: 'car-5', by: 'device', certificates: 2 }));

    // The old key signs nothing more, on the live session or in a redemption; the new one does.
    expect(await payVoucher(car, signedVoucher(carKeys, { channelId: paying, seq: 3n, total: micro(400n) }))).toMatchObject({ type: 'voucher.rejected', error: { code: 'KEY_ROTATED' } });
    const { voucher, signature } = signedVoucher(carKeys, { channelId: paying, seq: 3n, total: micro(400n) });
    await expect(meter.request('channel.redeem', { voucher, signature })).rejects.toMatchObject({ code: 'KEY_ROTATED' });
    expect(await payVoucher(car, signedVoucher(newKeys, { channelId: paying, seq: 3n, total: micro(500n) }))).toMatchObject({ type: 'voucher.accepted', total: '0.0005' });
    // A re-send of the voucher accepted before the rotation is still answered as accepted.
    expect(await payVoucher(car, beforeRotation)).toMatchObject({ type: 'voucher.accepted' });

    // Connect tokens: the old key's are refused, the new key's accepted.
    await expect(broker.link('car-5', carKeys)).rejects.toThrow();
    const again = await broker.link('car-5', newKeys);
    expect(again.connected).toBe(true);
    await again.close();

    // Evidence: seq 1 (old key, settled before), seq 3 (new key) settle and all verify.
    expect((await broker.app.service.settleNow()).kind).toBe('settled');
    await broker.app.service.flush();
    const check = await runCli(['ledger', 'check', '--data', broker.dataDir, '--verify-signatures']);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/2 settled vouchers verified/);
    const evidence = await runCli(['channel', 'evidence', toHex(paying), '--data', broker.dataDir]);
    expect(JSON.parse(evidence.stdout)).toMatchObject({ certificate: { revision: 2 }, earlierCertificates: [{ revision: 1 }] });
  });

  it('refuses a replayed, stale, badly signed, small-order or reused key', async () => {
    const keys = broker.enrol('tram-5');
    const tram = await broker.link('tram-5', keys);
    const next = generateKeyPair(random);
    const stranger = generateKeyPair(random);
    const rotate = (params: ReturnType<typeof rotationParams>) => tram.request('device.rotate', params);

    await expect(rotate(rotationParams('tram-5', keys, next, Date.now() - 600_000))).rejects.toMatchObject({ code: 'KEY_ROTATION_INVALID' });
    await expect(rotate(rotationParams('car-5', keys, next))).rejects.toMatchObject({ code: 'KEY_ROTATION_INVALID' });
    // Signed by a key that is not the device's: names the wrong current key, or the right one without its signature.
    await expect(rotate(rotationParams('tram-5', stranger, next))).rejects.toMatchObject({ code: 'KEY_ROTATION_INVALID' });
    const forged = rotationParams('tram-5', keys, next);
    await expect(rotate({ ...forged, signature: toHex(sign(fromHex(forged.rotation), stranger.secretKey)) })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    // No proof of possession of the new key.
    await expect(rotate({ ...forged, newSignature: toHex(sign(fromHex(forged.rotation), stranger.secretKey)) })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    // A small-order key is refused as at enrolment, before its signature is even looked at.
    const smallOrder = encodeKeyRotation({ device: 'tram-5', currentKey: keys.publicKey, newKey: fromHex(IDENTITY_POINT), timeMs: BigInt(Date.now()) });
    await expect(rotate({ rotation: toHex(smallOrder), signature: toHex(sign(smallOrder, keys.secretKey)), newSignature: toHex(sign(smallOrder, next.secretKey)) })).rejects.toMatchObject({ code: 'KEY_INVALID' });
    // Another device's key, even with its holder's signature.
    await expect(rotate(rotationParams('tram-5', keys, meterKeys))).rejects.toMatchObject({ code: 'KEY_REUSED' });
    expect(toHex(getDevice(broker.app.db, 'tram-5')?.publicKey ?? new Uint8Array())).toBe(toHex(keys.publicKey));

    const good = rotationParams('tram-5', keys, next);
    expect(await rotate(good)).toMatchObject({ publicKey: toHex(next.publicKey), certificates: 0 });
    // The same request again, under a new request id: its key is retired, so it cannot apply twice.
    await expect(rotate(good)).rejects.toMatchObject({ code: 'KEY_ROTATED' });
    // Back to the key the device had before.
    await expect(rotate(rotationParams('tram-5', next, keys))).rejects.toMatchObject({ code: 'KEY_REUSED' });
  });

  it('a voucher racing an operator\'s re-key is either committed before it (and verifies) or refused KEY_ROTATED, never accepted after it', async () => {
    let keys = broker.enrol('bus-5', '10');
    const bus = await broker.link('bus-5', keys);
    const channel = await open(bus, 'meter-5');
    let seq = 0n;
    for (let round = 0; round < 5; round++) {
      seq += 1n;
      const next = generateKeyPair(random);
      const verdict = payVoucher(bus, signedVoucher(keys, { channelId: channel, seq, total: micro(seq * 10n) }));
      // The re-key does not wait for the device's in-flight vouchers: the two race.
      const [answer] = await Promise.all([verdict, broker.app.service.rekey('bus-5', next.publicKey)]);
      keys = next;
      if (answer.type === 'voucher.accepted') expect(getChannel(broker.app.db, channel)?.latestSeq).toBe(seq);
      else expect(answer).toMatchObject({ type: 'voucher.rejected', error: { code: 'KEY_ROTATED' } });
      // Either way, the next voucher needs the key in force now, and is taken.
      seq += 1n;
      expect(await payVoucher(bus, signedVoucher(keys, { channelId: channel, seq, total: micro(seq * 10n) }))).toMatchObject({ type: 'voucher.accepted' });
      await broker.app.service.settleNow();
    }
    await broker.app.service.flush();
    const check = await runCli(['ledger', 'check', '--data', broker.dataDir, '--verify-signatures']);
    expect(check.stdout).toMatch(/ledger ok/);
    expect(check.code).toBe(0);
  });

  it('an operator re-keys a lost device through the CLI: its session is closed, its channels re-certified, old-key vouchers refused', async () => {
    const channel = await open(meter, 'car-5');
    expect(await payVoucher(meter, signedVoucher(meterKeys, { channelId: channel, seq: 1n, total: micro(100n) }))).toMatchObject({ type: 'voucher.accepted' });
    const replacement = generateKeyPair(random);
    const closed = new Promise<void>((resolve) => meter.client.once('close', () => resolve()));
    const cli = await runCli(['device', 'rekey', 'meter-5', '--public-key', toHex(replacement.publicKey), '--url', broker.base, '--token', OPERATOR_TOKEN]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^re-keyed meter-5: public key [0-9a-f]{64}; 4 certificate\(s\) re-issued; live session closed/);
    await closed;
    expect(events).toContainEqual(expect.objectContaining({ type: 'device.rekeyed', device: 'meter-5', by: 'operator', certificates: 4 }));

    const meterAgain = await broker.link('meter-5', replacement);
    expect(await payVoucher(meterAgain, signedVoucher(meterKeys, { channelId: channel, seq: 2n, total: micro(200n) }))).toMatchObject({ type: 'voucher.rejected', error: { code: 'KEY_ROTATED' } });
    expect(await payVoucher(meterAgain, signedVoucher(replacement, { channelId: channel, seq: 2n, total: micro(200n) }))).toMatchObject({ type: 'voucher.accepted' });

    const reused = await broker.api('POST', '/api/devices/meter-5/rekey', { body: { publicKey: toHex(meterKeys.publicKey) } });
    expect(reused).toMatchObject({ status: 409, json: { code: 'KEY_REUSED' } });
    const small = await broker.api('POST', '/api/devices/meter-5/rekey', { body: { publicKey: IDENTITY_POINT } });
    expect(small).toMatchObject({ status: 400, json: { code: 'KEY_INVALID' } });
    const unknown = await broker.api('POST', '/api/devices/nobody/rekey', { body: { publicKey: toHex(generateKeyPair(random).publicKey) } });
    expect(unknown).toMatchObject({ status: 404, json: { code: 'DEVICE_UNKNOWN' } });
    const usage = await runCli(['device', 'rekey', 'meter-5', '--public-key', toHex(generateKeyPair(random).publicKey)]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--url/);
    const badKey = await runCli(['device', 'rekey', 'meter-5', '--public-key', IDENTITY_POINT, '--url', broker.base, '--token', OPERATOR_TOKEN]);
    expect(badKey.code).not.toBe(0);
    expect(badKey.stderr).toMatch(/KEY_INVALID/);
  });
});
