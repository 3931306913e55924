// The worker-thread verifier used on the voucher hot path must give exactly the answers of the
// one rule (`backends.native` from shared/crypto.ts) on every public vector, in order.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerVerifier } from '../broker/service/vouchers/verify-pool.js';
import { backends } from '../shared/crypto.js';
import { fromHex } from '../shared/hex.js';

interface Case { readonly signature: Uint8Array; readonly message: Uint8Array; readonly publicKey: Uint8Array }

function vectorCases(): Case[] {
  const wycheproof = JSON.parse(readFileSync(new URL('./vectors/wycheproof-ed25519.json', import.meta.url), 'utf8')) as { testGroups: { publicKey: { pk: string }; tests: { msg: string; sig: string }[] }[] };
  const cctv = JSON.parse(readFileSync(new URL('./vectors/cctv-ed25519.json', import.meta.url), 'utf8')) as { key: string; sig: string; msg: string }[];
  const cases: Case[] = [];
  for (const group of wycheproof.testGroups) {
    for (const test of group.tests) cases.push({ signature: fromHex(test.sig), message: fromHex(test.msg), publicKey: fromHex(group.publicKey.pk) });
  }
  for (const vector of cctv) cases.push({ signature: fromHex(vector.sig), message: new TextEncoder().encode(vector.msg), publicKey: fromHex(vector.key) });
  return cases;
}

const answer = (run: () => boolean | Promise<boolean>): Promise<boolean | 'throws'> => {
  try {
    return Promise.resolve(run()).catch(() => 'throws' as const);
  } catch {
    return Promise.resolve('throws');
  }
};

describe('worker verifier', () => {
  const verifier = new WorkerVerifier();
  afterAll(() => verifier.close());

  it('agrees with the native backend on all 1,065 vectors, submitted all at once', async () => {
    const cases = vectorCases();
    expect(cases.length).toBe(151 + 914);
    const expected = await Promise.all(cases.map((c) => answer(() => backends.native.verify(c.signature, c.message, c.publicKey))));
    const actual = await Promise.all(cases.map((c) => answer(() => verifier.verify(c.signature, c.message, c.publicKey))));
    expect(actual).toEqual(expected);
    expect(actual.filter((a) => a === true).length).toBeGreaterThan(40);
  });

  it('keeps answering, inline, after it is closed', async () => {
    const c = vectorCases()[0] as Case;
    const expected = backends.native.verify(c.signature, c.message, c.publicKey);
    await verifier.close();
    expect(await verifier.verify(c.signature, c.message, c.publicKey)).toBe(expected);
  });
});
