// The simulator's judges must be able to say "no": on a real broker and ledger, an attack that
// the service accepts is reported as succeeded, and the conservation and accepted-settled
// checks fail on a ledger or a device view that does not add up.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fundWallet } from '../broker/store/sqlite/ledger.js';
import { addAmount, amountOf, parseAmount, type Amount } from '../shared/amount.js';
import { toHex } from '../shared/hex.js';
import { checkAcceptedSettledOrPending, type PayeeView, type PayerView } from '../simulator/verdict/accepted-check.js';
import { expectVoucherRefused, type AttackContext } from '../simulator/attacks/attack.js';
import { aboveDeposit, doubleSigned, forgedSignature, replayedOldVoucher } from '../simulator/attacks/own-channel.js';
import { BrokerLog } from '../simulator/world/broker-log.js';
import { checkConservation } from '../simulator/verdict/conservation.js';
import type { RoguePlan } from '../simulator/plan/fleet.js';
import { sqliteQuery } from '../simulator/world/ledger-query.js';
import { LedgerReader } from '../simulator/world/ledger-reader.js';
import { RogueDevice } from '../simulator/actors/rogue-device.js';
import { systemSimClock } from '../simulator/world/sim-clock.js';
import { random, startBroker, type RunningBroker } from './helpers/broker-fixture.js';

const ROGUE: RoguePlan = {
  role: 'rogue', id: 'rogue-sensor-01', kind: 'sensor', funding: parseAmount('20'), deposit: parseAmount('1'),
  offer: { unit: 'reading', price: parseAmount('0.0005') }, victim: 'charger-1', impersonates: 'charger-1',
};

describe('simulator judges and checks', () => {
  let broker: RunningBroker;
  let rogue: RogueDevice;
  let ledger: LedgerReader;
  let ctx: AttackContext;
  const funded = new Map<string, Amount>([['rogue-sensor-01', ROGUE.funding], ['charger-1', parseAmount('1')]]);

  beforeEach(async () => {
    broker = await startBroker();
    const keys = broker.enrol('rogue-sensor-01', '20');
    broker.enrol('charger-1', '1');
    rogue = RogueDevice.open({ plan: ROGUE, keys, url: broker.url, brokerId: broker.app.config.brokerId, clock: systemSimClock, random });
    expect(await rogue.link.whenConnected(5_000)).toBe(true);
    await rogue.openChannel(random);
    expect(await rogue.coverPayment(5_000)).toBe(true);
    expect(await rogue.coverPayment(5_000)).toBe(true);
    ledger = LedgerReader.sqlite(broker.dataDir);
    ctx = { rogue, ledger, brokerLog: new BrokerLog(), brokerUrl: broker.url, brokerId: broker.app.config.brokerId, random, clock: systemSimClock };
  });
  afterEach(async () => {
    ledger.close();
    await rogue.close();
    await broker.stop();
  });

  it('hostile vouchers on the own channel are rejected, and the ledger did not move', async () => {
    for (const attack of [forgedSignature, aboveDeposit, doubleSigned, replayedOldVoucher]) {
      expect(await attack(ctx)).toMatchObject({ status: 'rejected' });
    }
    expect(await ledger.channel(rogue.channel?.id ?? new Uint8Array())).toMatchObject({ latestSeq: 2n, latestTotal: rogue.latestTotal });
  });

  it('a voucher the service accepts is judged "succeeded", not rejected', async () => {
    const channel = rogue.channel?.id ?? new Uint8Array();
    const seq = rogue.latestSeq + 1n;
    const honest = rogue.signVoucher({ channelId: channel, seq, total: addAmount(rogue.latestTotal, amountOf(10n)) });
    const result = await expectVoucherRefused(ctx, { message: honest, channel, seq, code: 'SIGNATURE_INVALID' });
    expect(result.status).toBe('succeeded');
    expect(result.observed).toContain('accepted');
  });

  it('conservation holds for what was funded, and fails for money funded behind the simulator\'s back', async () => {
    expect(await checkConservation(sqliteQuery(() => broker.app.db), funded)).toMatchObject({ ok: true });
    fundWallet(broker.app.db, 'charger-1', parseAmount('0.5'), 'behind-the-back', Date.now());
    const broken = await checkConservation(sqliteQuery(() => broker.app.db), funded);
    expect(broken.ok).toBe(false);
    expect(broken.detail).toContain('wallet of charger-1');
  });

  it('accepted-settled-or-pending holds for true device views and fails for each kind of lie', async () => {
    const id = toHex(rogue.channel?.id ?? new Uint8Array());
    const truth: PayerView = { payer: 'rogue-sensor-01', acceptedTotal: rogue.latestTotal, signedTotal: rogue.signedMax };
    const payee: PayeeView = { payee: 'charger-1', receivedTotal: rogue.latestTotal };
    const check = (payers: Map<string, PayerView>, payees: Map<string, PayeeView>) => checkAcceptedSettledOrPending(sqliteQuery(() => broker.app.db), payers, payees);

    const ok = await check(new Map([[id, truth]]), new Map([[id, payee]]));
    expect(ok).toMatchObject({ ok: true, totals: { accepted: rogue.latestTotal, settled: 0n, pending: rogue.latestTotal } });
    // Told "accepted" for more than the ledger holds.
    expect((await check(new Map([[id, { ...truth, acceptedTotal: rogue.latestTotal + 1n }]]), new Map())).ok).toBe(false);
    // The ledger holds more than the payer ever signed.
    expect((await check(new Map([[id, { ...truth, signedTotal: rogue.latestTotal - 1n }]]), new Map())).ok).toBe(false);
    // A payee holding a payment the service never accepted.
    expect((await check(new Map([[id, truth]]), new Map([[id, { ...payee, receivedTotal: rogue.latestTotal + 1n }]]))).ok).toBe(false);
    // Money on a channel no payer knows of.
    expect((await check(new Map(), new Map())).ok).toBe(false);
    // After a settlement the same views still hold, now as settled rather than pending.
    await broker.app.service.settleNow();
    expect(await check(new Map([[id, truth]]), new Map([[id, payee]]))).toMatchObject({ ok: true, totals: { settled: rogue.latestTotal, pending: 0n } });
  });
});
