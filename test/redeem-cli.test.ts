// "Accepting payments offline" (README) with the `mqpay` commands alone [docs/DESIGN.md rule 11]:
// a CLI broker with a short dispute window, `agent init`, `agent run` (the payee, long enough to
// get the channel certificate and the first payment), `agent voucher` (the payer, offline),
// `agent accept` (the payee, offline), `agent close` (the payer) or `channel close` (an
// operator, when the payer device is lost), `agent redeem` (the payee), then the settlement at
// the deadline, `ledger check --verify-signatures`, and `channel evidence` checked with
// node:crypto's own Ed25519 (not mqpay's). Commands run in-process through `main`; the broker's
// clock is real, so the window is short and every wait is on output or on the ledger.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, NETWORK_POLL } from './helpers/agent-fixture.js';
import { tempDir } from './helpers/broker-fixture.js';
import { runCli, startCli, type RunningCli } from './helpers/ops-cli.js';

const TOKEN = 'operator-token-for-redeem-cli-0123';
const WINDOW_S = 3;
const DEADLINE_POLL = { timeout: 20_000, interval: 100 } as const;
const mqpay = (...args: string[]) => runCli(args, { MQPAY_OPERATOR_TOKEN: TOKEN });
const lastLine = (text: string): string => text.trim().split('\n').pop() ?? '';

/** An Ed25519 public key (32 bytes, hex) as node:crypto takes it (SPKI DER prefix + key). */
function nodeKey(hex: string) {
  return createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
}

describe('accepting payments offline, with the CLI alone', () => {
  let dir: { path: string; remove: () => void };
  let broker: RunningCli;
  let url: string;
  let api: string;
  let data: string;

  beforeEach(async () => {
    dir = tempDir('mqpay-redeem-cli-');
    data = join(dir.path, 'broker');
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    broker = startCli(['broker', '--data', data, '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), '--epoch-seconds', '1', '--close-window-seconds', String(WINDOW_S), '--operator-token', TOKEN, '--log-level', 'warn']);
    await broker.waitFor('listening');
    url = `mqtt://127.0.0.1:${mqttPort}`;
    api = `http://127.0.0.1:${httpPort}`;
  });
  afterEach(async () => {
    expect(await broker.stop()).toBe(0);
    dir.remove();
  });

  async function initAndEnrol(name: string): Promise<string> {
    const home = join(dir.path, name);
    const init = await mqpay('agent', 'init', '--home', home, '--id', name, '--service-key-file', join(data, 'service.pub'), '--deposit', '1');
    expect(init.code, init.stderr).toBe(0);
    expect((await mqpay('device', 'add', name, '--public-key', lastLine(init.stdout), '--data', data)).code).toBe(0);
    return home;
  }

  /** Pays 0.1 online (the payee running), then hands 0.25 over offline; returns the homes and the channel. */
  async function payThenHandOver(tag: string) {
    const car = await initAndEnrol(`car-${tag}`);
    const charger = await initAndEnrol(`charger-${tag}`);
    expect((await mqpay('wallet', 'fund', `car-${tag}`, '10', '--data', data, '--id', `grant-${tag}`)).code).toBe(0);
    const payee = startCli(['agent', 'run', '--home', charger, '--broker', url, '--log-level', 'info']);
    await payee.waitFor('"msg":"connected"', 'stderr');
    const paid = await mqpay('agent', 'pay', `charger-${tag}`, '0.1', '--home', car, '--broker', url);
    expect(paid.code, paid.stderr).toBe(0);
    await payee.waitFor('"msg":"payment received"', 'stderr');
    expect(payee.stderr()).toContain('"msg":"channel certificate stored"');
    expect(await payee.stop()).toBe(0);

    const file = join(dir.path, `voucher-${tag}.txt`);
    const signed = await mqpay('agent', 'voucher', `charger-${tag}`, '0.25', '--home', car, '--out', file);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toContain('signed seq 2');
    // A tampered copy is refused offline with its code; the true one is accepted.
    const text = (await import('node:fs')).readFileSync(file, 'utf8').trim();
    const tampered = text.replace(/"signature":"(.)/, (_all, first: string) => `"signature":"${first === '0' ? '1' : '0'}`);
    const refused = await mqpay('agent', 'accept', tampered, '--home', charger);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('SIGNATURE_INVALID');
    const accepted = await mqpay('agent', 'accept', file, '--home', charger);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toContain('accepted seq 2');
    const status = JSON.parse((await mqpay('agent', 'status', '--home', car, '--json')).stdout) as { paying: { channel: string }[] };
    const channel = status.paying[0]?.channel ?? '';
    expect(channel).toMatch(/^[0-9a-f]{64}$/);
    return { car, charger, channel, carName: `car-${tag}`, chargerName: `charger-${tag}` };
  }

  async function channelView(id: string): Promise<Record<string, unknown> | undefined> {
    const list = JSON.parse((await mqpay('channels', '--data', data, '--json')).stdout) as { items: Record<string, unknown>[] };
    return list.items.find((item) => item.id === id);
  }

  async function wallets(): Promise<Record<string, string>> {
    const list = JSON.parse((await mqpay('wallets', '--data', data, '--json')).stdout) as { items: { device: string; balance: string }[] };
    return Object.fromEntries(list.items.map((item) => [item.device, item.balance]));
  }

  it('payer closes, the payee redeems inside the window: paid 0.35; the evidence checks with node:crypto; a flipped byte fails the check', async () => {
    const parties = await payThenHandOver('a');
    const closed = await mqpay('agent', 'close', parties.chargerName, '--home', parties.car, '--broker', url);
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stdout).toContain(`channel ${parties.channel} closing`);
    expect(await channelView(parties.channel)).toMatchObject({ state: 'closing', closeRequestedBy: 'payer' });
    const redeemed = await mqpay('agent', 'redeem', '--home', parties.charger, '--broker', url);
    expect(redeemed.code, redeemed.stdout + redeemed.stderr).toBe(0);
    expect(redeemed.stdout).toContain('the service holds the best voucher on every channel');

    await expect.poll(async () => (await channelView(parties.channel))?.state, DEADLINE_POLL).toBe('closed');
    expect(await channelView(parties.channel)).toMatchObject({ settledTotal: '0.35', latestSeq: '2' });
    expect(await wallets()).toMatchObject({ [parties.chargerName]: '0.35', [parties.carName]: '9.65' });
    const check = await mqpay('ledger', 'check', '--data', data, '--verify-signatures');
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toMatch(/ok +signatures: the voucher behind every channel settlement verifies/);

    // The evidence stands on its own: the certificate's payer key, with node:crypto, verifies every settled voucher.
    const evidence = JSON.parse((await mqpay('channel', 'evidence', parties.channel, '--data', data, '--json')).stdout) as {
      certificate: { bytes: string }; settled: { seq: string; total: string; voucher: string; signature: string }[];
    };
    const payerKey = evidence.certificate.bytes.slice(2 * (8 + 1 + 32 + 33), 2 * (8 + 1 + 32 + 33 + 32));
    expect(evidence.settled.at(-1)).toMatchObject({ seq: '2', total: '350000' });
    for (const settled of evidence.settled) {
      expect(nodeVerify(null, Buffer.from(settled.voucher, 'hex'), nodeKey(payerKey), Buffer.from(settled.signature, 'hex'))).toBe(true);
    }

    // One flipped byte in a stored voucher: the check fails and names the channel.
    const db = new Database(join(data, 'mqpay.db'));
    try {
      const row = db.prepare('SELECT settlement, voucher FROM settlement_vouchers v JOIN channels c ON c.num = v.channel WHERE hex(c.id) = upper(?) ORDER BY seq DESC LIMIT 1').get(parties.channel) as { settlement: string; voucher: Buffer };
      const flipped = Buffer.from(row.voucher);
      flipped[64] = (flipped[64] ?? 0) ^ 0x01; // the low byte of its expiry: it still decodes, the signature no longer holds
      db.prepare('UPDATE settlement_vouchers SET voucher = ? WHERE settlement = ?').run(flipped, row.settlement);
    } finally {
      db.close();
    }
    const broken = await mqpay('ledger', 'check', '--data', data, '--verify-signatures');
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`FAIL  signatures: the voucher behind every channel settlement verifies with the payer's key: 1 of`);
    expect(broken.stdout).toContain(`channel ${parties.channel}`);
    expect(broken.stdout).toContain('payer signature does not verify');
    // Without the flag the amounts still agree: only the signature check sees it.
    expect((await mqpay('ledger', 'check', '--data', data)).code).toBe(0);
  });

  it('the payer device is lost after the hand-over: the operator force-closes, the payee redeems, paid 0.35', async () => {
    const parties = await payThenHandOver('b');
    expect(await channelView(parties.channel)).toMatchObject({ state: 'open', latestSeq: '1' });
    const forced = await mqpay('channel', 'close', parties.channel, '--url', api);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`channel ${parties.channel} closing`);
    expect(await channelView(parties.channel)).toMatchObject({ state: 'closing', closeRequestedBy: 'operator', latestSeq: '1' });

    const redeemed = await mqpay('agent', 'redeem', '--home', parties.charger, '--broker', url, '--json');
    expect(redeemed.code, redeemed.stderr).toBe(0);
    // The agent redeems by itself as it connects; the explicit pass then finds the service holding seq 2.
    expect(JSON.parse(redeemed.stdout)).toMatchObject({ complete: true, channels: [{ channel: parties.channel, heldSeq: '2', serviceSeq: '2' }] });
    expect(await channelView(parties.channel)).toMatchObject({ state: 'closing', latestSeq: '2', latestTotal: '0.35' });

    await expect.poll(async () => (await channelView(parties.channel))?.state, DEADLINE_POLL).toBe('closed');
    expect(await wallets()).toMatchObject({ [parties.chargerName]: '0.35', [parties.carName]: '9.65' });
    expect((await mqpay('ledger', 'check', '--data', data, '--verify-signatures')).code).toBe(0);
    // After the close the payer's stale voucher is refused: the payee holds nothing better, redeem is complete.
    const again = await mqpay('agent', 'redeem', '--home', parties.charger, '--broker', url);
    expect(again.code).toBe(0);
  }, 60_000);
});
