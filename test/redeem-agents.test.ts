// Nothing accepted is lost [docs/DESIGN.md rule 11], end to end through a real broker (aedes on
// loopback, real SQLite file) and real agents: a payer pays online (seq 1), then, with the
// broker out of reach of both, hands seq 2 to the payee, which checks it offline against the
// channel certificate. The payer's close (or the channel's expiry) opens a dispute window; the
// payee reconnects inside it, its agent redeems seq 2 by itself, and the settlement at the
// deadline pays exactly total(2). Back after the deadline, the payee finds the service settled
// what it knew (seq 1) and its late voucher is refused with CHANNEL_CLOSED. Time is the injected
// clock, shared by broker and agents (connect tokens are judged against it).
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../agent/agent-api.js';
import { createAgent } from '../agent/agent.js';
import { readKeyFile } from '../agent/home/key-file.js';
import type { SignedPayment } from '../agent/types.js';
import { walletAccount } from '../broker/store/accounts.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { balanceOf } from '../broker/store/sqlite/ledger.js';
import { channelIdFromHex } from '../shared/ids.js';
import { AgentBed, freePort, NETWORK_POLL, TEST_AGENT_TIMING } from './helpers/agent-fixture.js';
import { ShiftableClock } from './helpers/broker-adversary.js';
import { startBroker, type RunningBroker } from './helpers/broker-fixture.js';

const WINDOW_S = 600;
const DEPOSIT = '1';
const ONLINE = '0.1'; // seq 1, through the broker
const OFFLINE = '0.25'; // seq 2, handed over directly: total(2) = 0.35
const TOTAL_1 = 100_000n;
const TOTAL_2 = 350_000n;
const FUNDS = 5_000_000n;

describe('redemption: a voucher accepted offline survives a close, an expiry, and is refused after the deadline', () => {
  let clock: ShiftableClock;
  let broker: RunningBroker;
  let bed: AgentBed;
  let deadUrl: string;

  beforeEach(async () => {
    clock = new ShiftableClock();
    broker = await startBroker({ closeWindowSeconds: WINDOW_S }, undefined, { clock });
    bed = new AgentBed(broker);
    deadUrl = `mqtt://127.0.0.1:${await freePort()}`; // nothing listens: the agent works offline
  });
  afterEach(async () => {
    await bed.cleanup();
    await broker.stop();
  });

  /** An agent started against no broker: it signs and accepts offline, then stops. */
  async function offline<T>(home: string, use: (agent: Agent) => Promise<T>): Promise<T> {
    const agent = await createAgent({ home, brokerUrl: deadUrl, clock, ...TEST_AGENT_TIMING, connectWaitMs: 50 });
    try {
      expect(agent.connected).toBe(false);
      return await use(agent);
    } finally {
      await agent.stop();
    }
  }

  /** Pays seq 1 online, then hands seq 2 over offline; returns the homes and the channel. */
  async function payOnlineThenOffline(durationSeconds: number) {
    const tag = Math.random().toString(36).slice(2, 8);
    const carHome = bed.home(`car-${tag}`, { funds: '5', config: { channel: { deposit: DEPOSIT, durationSeconds, renewBeforeSeconds: 0 } } });
    const chargerName = `charger-${tag}`;
    const chargerHome = bed.home(chargerName);
    const car = await bed.start(carHome, { clock });
    const charger = await bed.start(chargerHome, { clock });
    const first = await car.pay(chargerName, ONLINE);
    await expect.poll(() => charger.channels().paid[0]?.receivedSeq, NETWORK_POLL).toBe('1');
    await car.stop();
    await charger.stop();

    const signed: SignedPayment = await offline(carHome, (agent) => agent.sign(chargerName, OFFLINE));
    expect(signed).toMatchObject({ seq: 2n, total: TOTAL_2 });
    const received = await offline(chargerHome, (agent) => agent.receiveVoucher(signed.message));
    expect(received).toMatchObject({ seq: 2n, total: TOTAL_2, source: 'direct', certified: true });
    const channel = channelIdFromHex(first.channel);
    expect(getChannel(broker.app.db, channel)).toMatchObject({ latestSeq: 1n, latestTotal: TOTAL_1 });
    return { car: carHome.split('/').pop() ?? '', carHome, chargerName, chargerHome, channel, hex: first.channel };
  }

  function expectSettledAndAudited(parties: { car: string; chargerName: string; channel: Uint8Array }, paid: bigint): void {
    expect(getChannel(broker.app.db, parties.channel)).toMatchObject({ state: 'closed', settledTotal: paid });
    expect(balanceOf(broker.app.db, walletAccount(parties.chargerName))).toBe(paid);
    expect(balanceOf(broker.app.db, walletAccount(parties.car))).toBe(FUNDS - paid);
    expect(auditLedger(broker.app.db, { verifySignatures: true }).filter((check) => !check.ok)).toEqual([]);
  }

  it('a payer close: the payee reconnects inside the window, redeems by itself, and is paid total(n+1)', async () => {
    const parties = await payOnlineThenOffline(3_600);
    // The payer closes (its own device, over MQTT): the channel enters its dispute window.
    const payer = await broker.link(parties.car, readKeyFile(join(parties.carHome, 'key')));
    const askedMs = clock.nowMs();
    const closing = await payer.request('channel.close', { channel: parties.hex }) as { channel: { state: string; closesAtMs: number } };
    expect(closing.channel.state).toBe('closing');
    expect(closing.channel.closesAtMs - askedMs).toBeGreaterThanOrEqual(WINDOW_S * 1000);
    expect(closing.channel.closesAtMs - clock.nowMs()).toBeLessThanOrEqual(WINDOW_S * 1000);
    expect(closing).not.toHaveProperty('settled');
    // An epoch inside the window settles what the service holds (seq 1) but does not close.
    await broker.app.service.tick();
    expect(getChannel(broker.app.db, parties.channel)).toMatchObject({ state: 'closing', settledTotal: TOTAL_1 });

    clock.advance((WINDOW_S - 60) * 1000); // a minute before the deadline
    const charger = await bed.start(parties.chargerHome, { clock });
    await expect.poll(() => getChannel(broker.app.db, parties.channel)?.latestSeq, NETWORK_POLL).toBe(2n);
    expect((await charger.redeem()).complete).toBe(true);

    clock.advance(61_000);
    await broker.app.service.tick();
    expectSettledAndAudited(parties, TOTAL_2);
    await expect.poll(() => charger.channels().paid[0]?.state, NETWORK_POLL).toBe('closed');
  });

  it('a payee online when the close is announced redeems by itself on the channel.closing notice', async () => {
    const parties = await payOnlineThenOffline(3_600);
    const charger = await bed.start(parties.chargerHome, { clock });
    // It redeems seq 2 as it connects; seq 3 is then handed over while it stays online.
    await expect.poll(() => getChannel(broker.app.db, parties.channel)?.latestSeq, NETWORK_POLL).toBe(2n);
    const third = await offline(parties.carHome, (agent) => agent.sign(parties.chargerName, '0.05'));
    expect(await charger.receiveVoucher(third.message)).toMatchObject({ seq: 3n, source: 'direct' });
    expect(getChannel(broker.app.db, parties.channel)?.latestSeq).toBe(2n); // held by the payee only
    const payer = await broker.link(parties.car, readKeyFile(join(parties.carHome, 'key')));
    await payer.request('channel.close', { channel: parties.hex });
    await expect.poll(() => getChannel(broker.app.db, parties.channel)?.latestSeq, NETWORK_POLL).toBe(3n);
    clock.advance(WINDOW_S * 1000);
    await broker.app.service.tick();
    expectSettledAndAudited(parties, TOTAL_2 + 50_000n);
  });

  it('an expiry: the window opens at the epoch after expiry, and the redeemed voucher settles', async () => {
    const parties = await payOnlineThenOffline(60);
    clock.advance(61_000);
    await broker.app.service.tick();
    expect(getChannel(broker.app.db, parties.channel)).toMatchObject({ state: 'closing', closeRequestedBy: 'expiry', latestSeq: 1n });

    const charger = await bed.start(parties.chargerHome, { clock });
    await expect.poll(() => getChannel(broker.app.db, parties.channel)?.latestSeq, NETWORK_POLL).toBe(2n);
    expect((await charger.redeem()).complete).toBe(true);

    clock.advance(WINDOW_S * 1000);
    await broker.app.service.tick();
    expectSettledAndAudited(parties, TOTAL_2);
    expect(broker.app.db.prepare('SELECT reason FROM settlements WHERE id = ?').get(`expiry-${parties.hex}`)).toEqual({ reason: 'expiry' });
  });

  it('back after the deadline: the refund is what the service knew, and the late voucher gets CHANNEL_CLOSED', async () => {
    const parties = await payOnlineThenOffline(3_600);
    const payer = await broker.link(parties.car, readKeyFile(join(parties.carHome, 'key')));
    await payer.request('channel.close', { channel: parties.hex });
    clock.advance(WINDOW_S * 1000);
    await broker.app.service.tick();
    expectSettledAndAudited(parties, TOTAL_1);

    const charger = await bed.start(parties.chargerHome, { clock });
    const report = await charger.redeem();
    expect(report.complete).toBe(false);
    expect(report.channels).toEqual([expect.objectContaining({ channel: parties.hex, state: 'closed', heldSeq: 2n, serviceSeq: 1n, submitted: true, error: 'CHANNEL_CLOSED' })]);
    expectSettledAndAudited(parties, TOTAL_1);
  });
});
