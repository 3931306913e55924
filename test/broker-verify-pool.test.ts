// The verify pool used on the voucher hot path must give exactly the answers of the one rule
// (`backends.native` from shared/crypto.ts) on every public vector, in order, whether a job is
// verified inline or by a worker; its key cache forgets a rotated key.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { inlineVerifier, WorkerVerifier, type SignatureVerifier } from '../broker/service/vouchers/verify-pool.js';
import { backends, sign } from '../shared/crypto.js';
import { fromHex } from '../shared/hex.js';
import { generateKeyPair } from '../shared/keys.js';
import { passesEncodingRule } from '../shared/signature-rule.js';

const random = (length: number) => new Uint8Array(randomBytes(length));

function passesEncodingRuleSafe(c: Case): boolean {
  try {
    return passesEncodingRule(c.signature, c.publicKey);
  } catch {
    return false;
  }
}

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

/** Submits every case in one turn (queued for the workers) and collects the answers in order. */
function submitAll(verifier: SignatureVerifier, cases: readonly Case[]): Promise<(boolean | 'throws')[]> {
  return Promise.all(cases.map((c) => answer(() => verifier.verify(c.signature, c.message, c.publicKey))));
}

/** Submits one case per event-loop turn, so a verifier that may go inline does. */
async function submitOneByOne(verifier: SignatureVerifier, cases: readonly Case[]): Promise<(boolean | 'throws')[]> {
  const answers: (boolean | 'throws')[] = [];
  for (const c of cases) {
    answers.push(await answer(() => verifier.verify(c.signature, c.message, c.publicKey)));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return answers;
}

const nativeAnswers = (cases: readonly Case[]) => Promise.all(cases.map((c) => answer(() => backends.native.verify(c.signature, c.message, c.publicKey))));

describe('worker verifier', () => {
  const verifier = new WorkerVerifier({ threads: 1 });
  afterAll(() => verifier.close());

  it('agrees with the native backend on all 1,065 vectors, submitted all at once', async () => {
    const cases = vectorCases();
    expect(cases.length).toBe(151 + 914);
    const expected = await nativeAnswers(cases);
    const actual = await submitAll(verifier, cases);
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

describe('the inline and worker paths give identical answers', () => {
  const cases = vectorCases();

  it('workers only (3 threads, never inline): every vector, answers released in submission order', async () => {
    const pool = new WorkerVerifier({ threads: 3, inlinePerTurnMax: 0 });
    try {
      const order: number[] = [];
      const actual = await Promise.all(cases.map((c, index) => answer(() => pool.verify(c.signature, c.message, c.publicKey).finally(() => order.push(index)))));
      expect(actual).toEqual(await nativeAnswers(cases));
      expect(pool.verified.inline).toBe(0);
      expect(pool.verified.worker).toBeGreaterThan(0);
      // Those that pass the encoding rule resolve in order, whichever worker answered first.
      const workerJudged = order.filter((index) => passesEncodingRuleSafe(cases[index] as Case));
      expect(workerJudged).toEqual([...workerJudged].sort((x, y) => x - y));
    } finally {
      await pool.close();
    }
  });

  it('inline (one job per turn, nothing queued): every vector', async () => {
    const pool = new WorkerVerifier({ threads: 1 });
    try {
      const actual = await submitOneByOne(pool, cases);
      expect(actual).toEqual(await nativeAnswers(cases));
      expect(pool.verified.worker).toBe(0);
      expect(pool.verified.inline).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  });

  it('the threads-0 verifier: every vector', async () => {
    expect(await submitAll(inlineVerifier, cases)).toEqual(await nativeAnswers(cases));
  });
});

describe('the key cache', () => {
  it('verifies against the bytes a key array holds now, even if the array was changed in place', async () => {
    const pool = new WorkerVerifier({ threads: 1, inlinePerTurnMax: 0 });
    try {
      const first = generateKeyPair(random);
      const second = generateKeyPair(random);
      const message = new TextEncoder().encode('voucher');
      const byFirst = sign(message, first.secretKey);
      const key = first.publicKey.slice();
      expect(await pool.verify(byFirst, message, key)).toBe(true);
      key.set(second.publicKey);
      expect(await pool.verify(byFirst, message, key)).toBe(false);
      expect(await pool.verify(sign(message, second.secretKey), message, key)).toBe(true);
      expect(pool.verified.worker).toBe(3);
    } finally {
      await pool.close();
    }
  });

  it('imports a key once for the workers, and forgets it on rotation', async () => {
    const pool = new WorkerVerifier({ threads: 2, inlinePerTurnMax: 0 });
    try {
      const keys = generateKeyPair(random);
      const message = new TextEncoder().encode('voucher');
      const signature = sign(message, keys.secretKey);
      expect(await Promise.all([pool.verify(signature, message, keys.publicKey), pool.verify(signature, message, keys.publicKey)])).toEqual([true, true]);
      expect(pool.holdsKey(keys.publicKey)).toBe(true);
      // A job queued in the same turn as the rotation still finds the key; later ones re-import it.
      const queued = pool.verify(signature, message, keys.publicKey);
      pool.forget(keys.publicKey);
      expect(pool.holdsKey(keys.publicKey)).toBe(false);
      expect(await queued).toBe(true);
      expect(await pool.verify(signature, message, keys.publicKey)).toBe(true);
      // The rotated key never verifies what the new key signed.
      const rotated = generateKeyPair(random);
      const newSignature = sign(message, rotated.secretKey);
      expect(await pool.verify(newSignature, message, keys.publicKey)).toBe(false);
      expect(await pool.verify(newSignature, message, rotated.publicKey)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
