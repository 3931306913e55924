// Salted memo digests (protocol v2) end to end: the payer draws a fresh salt per memo, keeps it
// with the memo in its own SQLite and hands it back with the payment; the voucher the service
// stores commits to SHA-512(salt || memo), so the service cannot confirm a guessed memo, while
// the payee, told memo and salt, can. A salt the payee chose (an invoice) is used as given.
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { statePathOf } from '../agent/home/home.js';
import { fromHex } from '../shared/hex.js';
import { decodeVoucher, memoDigestOf, memoMatches } from '../shared/voucher.js';
import { AgentBed } from './helpers/agent-fixture.js';
import { runCli } from './helpers/ops-cli.js';
import { startBroker, type RunningBroker } from './helpers/broker-fixture.js';

describe('salted memo digests', () => {
  let broker: RunningBroker;
  let bed: AgentBed;
  beforeEach(async () => {
    broker = await startBroker();
    bed = new AgentBed(broker);
  });
  afterEach(async () => {
    await bed.cleanup();
    await broker.stop();
  });

  it('a memo is hashed with a fresh salt the payer keeps; the service cannot confirm a guess, the payee can', async () => {
    const carHome = bed.home('car-1', { funds: '5' });
    const car = await bed.start(carHome);
    await bed.agent('charger-1');
    const first = await car.sign('charger-1', '0.1', { memo: 'coffee' });
    const second = await car.sign('charger-1', '0.1', { memo: 'coffee' });
    await Promise.all([first.accepted, second.accepted]);
    expect(first.memoSalt).toMatch(/^[0-9a-f]{32}$/);
    expect(second.memoSalt).not.toBe(first.memoSalt);

    const digestOf = (hex: string) => decodeVoucher(fromHex(hex)).memoDigest;
    const firstDigest = digestOf(first.message.voucher);
    // The same memo twice gives two unrelated digests, and neither is the unsalted hash of a guess.
    expect(digestOf(second.message.voucher)).not.toEqual(firstDigest);
    expect(firstDigest).not.toEqual(new Uint8Array(createHash('sha512').update('coffee').digest().subarray(0, 16)));
    expect(memoMatches(firstDigest, 'coffee', fromHex(first.memoSalt ?? ''))).toBe(true);
    expect(memoMatches(firstDigest, 'tea', fromHex(first.memoSalt ?? ''))).toBe(false);
    // The payer's own state keeps memo and salt together, for the payee later.
    const state = new Database(statePathOf(carHome), { readonly: true });
    try {
      const rows = state.prepare('SELECT memo, hex(memo_salt) AS salt FROM signed_vouchers ORDER BY seq').all();
      expect(rows).toEqual([{ memo: 'coffee', salt: first.memoSalt?.toUpperCase() }, { memo: 'coffee', salt: second.memoSalt?.toUpperCase() }]);
    } finally {
      state.close();
    }
  });

  it("a payee's salt (an invoice) is used as given; a malformed one is refused", async () => {
    const car = await bed.agent('car-1', { funds: '5' });
    await bed.agent('charger-1');
    const salt = '00112233445566778899aabbccddeeff';
    const signed = await car.sign('charger-1', '0.1', { memo: 'invoice 17', memoSalt: salt });
    await signed.accepted;
    expect(signed.memoSalt).toBe(salt);
    expect(decodeVoucher(fromHex(signed.message.voucher)).memoDigest).toEqual(memoDigestOf('invoice 17', fromHex(salt)));
    await expect(car.sign('charger-1', '0.1', { memo: 'x', memoSalt: 'abc' })).rejects.toThrow(/memo salt must be 16 bytes/);
    await expect(car.sign('charger-1', '0.1', { memoSalt: salt })).rejects.toThrow(/a memo salt without a memo/);
  });

  it('`mqpay agent pay --memo` prints the salt to hand to the payee; --memo-salt takes the payee\'s', async () => {
    const home = bed.home('car-9', { funds: '5' });
    bed.home('charger-9');
    const drawn = await runCli(['agent', 'pay', 'charger-9', '0.1', '--home', home, '--broker', broker.url, '--memo', 'coffee']);
    expect(drawn.stderr).toBe('');
    expect(drawn.stdout).toMatch(/memo salt: [0-9a-f]{32} \(give it to charger-9 with the memo; the service never sees either\)/);
    const salt = 'ffeeddccbbaa99887766554433221100';
    const given = await runCli(['agent', 'pay', 'charger-9', '0.1', '--home', home, '--broker', broker.url, '--memo', 'invoice 9', '--memo-salt', salt, '--json']);
    expect(given.stderr).toBe('');
    expect(JSON.parse(given.stdout)).toMatchObject({ seq: '2', memoSalt: salt });
  });
});
