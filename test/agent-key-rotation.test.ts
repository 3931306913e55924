// Key rotation, the agent's side [docs/DESIGN.md rule 12], with real agents on a real broker: the
// agent writes the new key to its home as pending before it asks, switches on the service's
// answer and signs with the new key from then on; the payee stores the re-issued certificate and
// checks new-key vouchers offline (and refuses old-key ones); an agent killed (SIGKILL) between
// the service's commit and its own switch finishes the switch on its next start; one whose request
// never reached the service sends it again; `mqpay agent rotate-key` does it from the CLI.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { statePathOf } from '../agent/home/home.js';
import { readKeyFile } from '../agent/home/key-file.js';
import { PENDING_KEY_FILE, readPendingRotation, writePendingRotation } from '../agent/home/pending-rotation.js';
import { openState } from '../agent/store/open-state.js';
import { getDevice } from '../broker/store/sqlite/devices.js';
import { sign } from '../shared/crypto.js';
import { fromHex, toHex } from '../shared/hex.js';
import { signKeyRotation } from '../shared/key-rotation.js';
import { generateKeyPair } from '../shared/keys.js';
import { amountOf } from '../shared/amount.js';
import { random, signedVoucher, type RunningBroker } from './helpers/broker-fixture.js';
import { AgentBed, agentBedPerTest, NETWORK_POLL } from './helpers/agent-fixture.js';
import { buildAgentChild, runAgentChild } from './helpers/agent-child-build.js';
import { runCli } from './helpers/ops-cli.js';
import { SEQ_RESERVATION_BLOCK_SEQS } from '../agent/limits.js';

function payeeCertificate(home: string, channel: string): { revision: number; payerKey: string } | null {
  const db = openState(statePathOf(home), { readonly: true });
  try {
    const row = db.prepare('SELECT revision, payer_key FROM payee_channels WHERE id = ?').get(fromHex(channel)) as { revision: bigint; payer_key: Buffer } | undefined;
    return row === undefined ? null : { revision: Number(row.revision), payerKey: toHex(new Uint8Array(row.payer_key)) };
  } finally {
    db.close();
  }
}

const keyOf = (home: string): string => toHex(readKeyFile(join(home, 'key')).publicKey);
const brokerKeyOf = (broker: RunningBroker, device: string): string => toHex(getDevice(broker.app.db, device)?.publicKey ?? new Uint8Array());

describe('agent: key rotation', () => {
  let script: string;
  const fresh = agentBedPerTest();
  let broker: RunningBroker;
  let bed: AgentBed;

  beforeAll(async () => {
    script = await buildAgentChild();
  });
  afterAll(() => rmSync(script, { force: true }));
  beforeEach(() => {
    broker = fresh.broker();
    bed = fresh.bed();
  });

  it('rotates: signs with the new key; the payee stores the new certificate and checks new-key vouchers offline, refusing old-key ones', async () => {
    const carHome = bed.home('car-6', { funds: '10', config: { channel: { deposit: '1' } } });
    const chargerHome = bed.home('charger-6');
    const car = await bed.start(carHome);
    let charger = await bed.start(chargerHome);
    const first = await car.pay('charger-6', '0.1');
    const oldKeys = readKeyFile(join(carHome, 'key'));
    // Not while a voucher waits for its answer: refused under the new key, it would retire the channel.
    const waiting = await car.sign('charger-6', '0.1');
    await expect(car.rotateKey()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(existsSync(join(carHome, PENDING_KEY_FILE))).toBe(false);
    await waiting.accepted;

    const result = await car.rotateKey();
    expect(result.publicKey).not.toBe(toHex(oldKeys.publicKey));
    expect(result.certificates).toBe(1);
    expect(car.publicKey).toBe(result.publicKey);
    expect(keyOf(carHome)).toBe(result.publicKey);
    expect(existsSync(join(carHome, PENDING_KEY_FILE))).toBe(false);
    expect(brokerKeyOf(broker, 'car-6')).toBe(result.publicKey);
    await expect.poll(() => payeeCertificate(chargerHome, first.channel), NETWORK_POLL).toEqual({ revision: 2, payerKey: result.publicKey });

    const second = await car.pay('charger-6', '0.1');
    expect(second).toMatchObject({ channel: first.channel, seq: 3n, total: amountOf(300_000n) });

    // The payee offline: a new-key voucher handed over directly is checked against the stored
    // certificate and taken; one signed with the old key is refused.
    await charger.stop();
    charger = await bed.start(chargerHome, { offline: true });
    const signed = await car.sign('charger-6', '0.1');
    await expect(charger.receiveVoucher(signed.message)).resolves.toMatchObject({ certified: true, seq: 4n });
    const forged = signedVoucher(oldKeys, { channelId: fromHex(first.channel), seq: 5n, total: amountOf(500_000n) });
    await expect(charger.receiveVoucher({ v: 3, voucher: forged.voucher, signature: forged.signature })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
  });

  it('killed between the service\'s commit and its own switch: the next start finds the key the broker accepts and finishes the switch', async () => {
    const carHome = bed.home('car-7', { funds: '10', config: { channel: { deposit: '1' } } });
    const chargerHome = bed.home('charger-7');
    await bed.start(chargerHome);
    const car = await bed.start(carHome);
    const first = await car.pay('charger-7', '0.1');
    await car.stop();
    const oldKey = keyOf(carHome);

    const run = runAgentChild(script, [carHome, broker.url, 'rotate-kill']);
    expect(await run.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(run.lines).toContain('rotation answered');
    expect(run.lines).not.toContain('not killed');
    // The service committed the new key; the home still holds the old key and the pending one.
    const pending = readPendingRotation(carHome);
    expect(pending).not.toBeNull();
    const newKey = toHex(pending?.keys.publicKey ?? new Uint8Array());
    expect(keyOf(carHome)).toBe(oldKey);
    expect(brokerKeyOf(broker, 'car-7')).toBe(newKey);

    const again = await bed.start(carHome);
    await expect.poll(() => again.publicKey, NETWORK_POLL).toBe(newKey);
    expect(keyOf(carHome)).toBe(newKey);
    expect(existsSync(join(carHome, PENDING_KEY_FILE))).toBe(false);
    // Killed, so the restart skipped the rest of its reserved block of seqs [docs/DESIGN.md rule 5].
    await expect(again.pay('charger-7', '0.1')).resolves.toMatchObject({ channel: first.channel, seq: BigInt(SEQ_RESERVATION_BLOCK_SEQS) + 1n });
    await expect.poll(() => payeeCertificate(chargerHome, first.channel), NETWORK_POLL).toEqual({ revision: 2, payerKey: newKey });
  });

  it('a rotation stored but never sent (a crash before the request left) is sent again on the next start', async () => {
    const home = bed.home('car-8');
    const current = readKeyFile(join(home, 'key'));
    const next = generateKeyPair(random);
    const signed = signKeyRotation({ device: 'car-8', timeMs: Date.now(), current, next, sign });
    writePendingRotation(home, { keys: next, requestId: 'rotate-test-1', params: { rotation: toHex(signed.bytes), signature: toHex(signed.signature), newSignature: toHex(signed.newSignature) } });

    const agent = await bed.start(home);
    await expect.poll(() => agent.publicKey, NETWORK_POLL).toBe(toHex(next.publicKey));
    expect(brokerKeyOf(broker, 'car-8')).toBe(toHex(next.publicKey));
    expect(keyOf(home)).toBe(toHex(next.publicKey));
    expect(existsSync(join(home, PENDING_KEY_FILE))).toBe(false);
  });

  it('mqpay agent rotate-key rotates from the command line', async () => {
    const home = bed.home('car-9');
    const before = keyOf(home);
    const cli = await runCli(['agent', 'rotate-key', '--home', home, '--broker', broker.url, '--broker-id', broker.app.config.brokerId]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const after = keyOf(home);
    expect(after).not.toBe(before);
    expect(cli.stdout.trim()).toBe(`rotated the key of car-9: public key ${after} (was ${before}); 0 channel certificate(s) re-issued`);
    expect(brokerKeyOf(broker, 'car-9')).toBe(after);
  });
});
