// The service's write path: the channel cache keeps a channel whose voucher is still in a group
// commit (LRU otherwise), one voucher that cannot be written fails alone in its batch, and a
// request id reused for another request is IDEMPOTENCY_CONFLICT. Real aedes on loopback, real
// MQTT.js clients, real SQLite files; failures are injected with a trigger on the broker's own
// connection, not mocked.
import { VOUCHERS_KEPT_PER_CHANNEL } from '../broker/limits.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelCache } from '../broker/service/channel-cache.js';
import type { Store } from '../broker/store/port.js';
import { sqliteStore } from '../broker/store/sqlite/store.js';
import { auditLedger } from '../broker/store/sqlite/audit.js';
import { getChannel } from '../broker/store/sqlite/channels.js';
import { amountOf } from '../shared/amount.js';
import { MqpayError } from '../shared/errors.js';
import { toHex } from '../shared/hex.js';
import { newChannelId } from '../shared/ids.js';
import type { KeyPair } from '../shared/keys.js';
import type { DeviceLink } from '../agent/link/link.js';
import { random, signedVoucher, startBroker, type RunningBroker } from './helpers/broker-fixture.js';

let broker: RunningBroker | null = null;
let releaseHeld: () => void = () => undefined;
afterEach(async () => {
  releaseHeld(); // a failed assertion must not leave commits held (the broker could not close)
  await broker?.stop();
  broker = null;
});

interface Payer {
  readonly id: string;
  readonly keys: KeyPair;
  readonly link: DeviceLink;
  readonly channelId: Uint8Array;
}

/** `count` payers, each with a channel to one payee. */
async function payers(running: RunningBroker, count: number): Promise<Payer[]> {
  running.enrol('meter-1');
  const made: Payer[] = [];
  for (let index = 0; index < count; index++) {
    const id = `car-${index}`;
    const keys = running.enrol(id, '10');
    const link = await running.link(id, keys);
    const channelId = newChannelId(random);
    await link.request('channel.open', { channel: toHex(channelId), payee: 'meter-1', deposit: '5', durationSeconds: 3600 });
    made.push({ id, keys, link, channelId });
  }
  return made;
}

/** Collects every verdict a payer hears, by seq. */
function verdictsOf(payer: Payer): Map<string, string[]> {
  const verdicts = new Map<string, string[]>();
  payer.link.on('inbox', (box: string, payload: Uint8Array) => {
    if (box !== 'voucher') return;
    const message = JSON.parse(new TextDecoder().decode(payload)) as { type: string; seq?: string; error?: { code: string } };
    if (message.seq === undefined) return;
    const list = verdicts.get(message.seq) ?? [];
    list.push(message.type === 'voucher.accepted' ? 'accepted' : (message.error?.code ?? message.type));
    verdicts.set(message.seq, list);
  });
  return verdicts;
}

describe('channel cache: least recently used out, never a channel awaiting its commit', () => {
  it('keeps a pinned channel past its bound, and evicts it once its commit has landed', async () => {
    broker = await startBroker();
    const [a, b, c] = await payers(broker, 3);
    if (a === undefined || b === undefined || c === undefined) throw new Error('three payers expected');
    const cache = new ChannelCache(sqliteStore(broker.app.db).reads, 1);
    const first = await cache.get(a.channelId);
    expect(first?.payer).toBe('car-0');
    let land: () => void = () => undefined;
    if (first === null) throw new Error('channel a is in the store');
    first.pendingCommit = new Promise<void>((resolve) => {
      land = resolve;
    });
    // Loading b takes the cache over its bound of one. The trim (once per turn) evicts the least
    // recently used entry it may: not a, which awaits its commit, so b goes.
    const second = await cache.get(b.channelId);
    expect(second?.payer).toBe('car-1');
    expect(cache.size).toBe(2);
    cache.trim();
    expect(cache.peek(a.channelId)).toBe(first);
    expect(cache.peek(b.channelId)).toBeNull();
    expect(cache.size).toBe(1);
    expect(cache.evictions).toBe(1);
    land();
    first.pendingCommit = null;
    // Committed, a is an ordinary entry again, and the least recently used when c comes.
    expect((await cache.get(c.channelId))?.payer).toBe('car-2');
    cache.trim();
    expect(cache.peek(a.channelId)).toBeNull();
    expect(cache.peek(c.channelId)?.payer).toBe('car-2');
    expect(cache.size).toBe(1);
    expect(cache.evictions).toBe(2);
  });

  it('under load, with room for two channels and every commit held, re-sends of eight payers wait for their first copies: each voucher accepted twice, written once', async () => {
    const held = new HeldCommits();
    releaseHeld = () => held.release();
    broker = await startBroker({ channelCacheEntriesMax: 2 }, undefined, { store: (db) => held.wrap(sqliteStore(db)) });
    const fleet = await payers(broker, 8);
    const heard = fleet.map(verdictsOf);
    const rounds = 5;
    for (let seq = 1n; seq <= BigInt(rounds); seq++) {
      const messages = fleet.map((payer) => signedVoucher(payer.keys, { channelId: payer.channelId, seq, total: amountOf(seq * 1_000n) }));
      held.hold();
      // A publish resolves at its PUBACK, which waits for the commit: these settle after release().
      const firsts = fleet.map((payer, index) => payer.link.publish('voucher', messages[index] as object));
      // Every first copy is judged and waits in a held batch, its channel pinned; loading the
      // eight channels through a cache with room for two pressed on every one of them.
      await expect.poll(() => held.waitingWrites + (broker?.app.service.writesQueued ?? 0), { timeout: 10_000 }).toBe(fleet.length);
      const resends = fleet.map((payer, index) => payer.link.publish('voucher', messages[index] as object));
      await expect.poll(() => broker?.app.service.channelCache.size, { timeout: 10_000 }).toBe(fleet.length);
      held.release();
      await Promise.all([...firsts, ...resends]);
      for (const verdicts of heard) await expect.poll(() => verdicts.get(seq.toString())?.length ?? 0, { timeout: 10_000 }).toBe(2);
    }
    for (const verdicts of heard) {
      expect([...verdicts.keys()]).toHaveLength(rounds);
      for (const list of verdicts.values()) expect(list).toEqual(['accepted', 'accepted']);
    }
    for (const payer of fleet) {
      expect(getChannel(broker.app.db, payer.channelId)).toMatchObject({ latestSeq: BigInt(rounds), latestTotal: BigInt(rounds) * 1_000n });
    }
    const logged = broker.app.db.prepare('SELECT count(*) AS n FROM vouchers').get() as { n: bigint };
    // Each voucher written once; the log keeps each channel's newest VOUCHERS_KEPT_PER_CHANNEL.
    expect(logged.n).toBe(BigInt(fleet.length * Math.min(rounds, VOUCHERS_KEPT_PER_CHANNEL)));
    expect(broker.app.service.channelCache.evictions).toBeGreaterThan(0); // the bound held between rounds
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
  });
});

/**
 * The real SQLite store, with its group commits held until released: fault injection of a slow
 * disk. Units of work queue behind a held batch exactly as they would behind a slow fsync.
 */
class HeldCommits {
  private gate: Promise<void> | null = null;
  private open: () => void = () => undefined;
  waitingWrites = 0;

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.gate = null;
    this.open();
  }

  wrap(store: Store): Store {
    return {
      ...store,
      batch: async (writes) => {
        const gate = this.gate;
        if (gate !== null) {
          this.waitingWrites += writes.length;
          await gate;
          this.waitingWrites -= writes.length;
        }
        return store.batch(writes);
      },
    };
  }
}

describe('group commit: a savepoint per voucher', () => {
  it('a voucher that cannot be written fails alone; the other device in the same batch is accepted', async () => {
    broker = await startBroker();
    const [a, b] = await payers(broker, 2);
    if (a === undefined || b === undefined) throw new Error('two payers expected');
    const num = getChannel(broker.app.db, a.channelId)?.num;
    broker.app.db.exec(`CREATE TEMP TRIGGER fail_a BEFORE INSERT ON vouchers WHEN NEW.channel = ${num} BEGIN SELECT RAISE(ABORT, 'injected disk failure'); END;`);
    const heardA = verdictsOf(a);
    const heardB = verdictsOf(b);
    await Promise.all([
      a.link.publish('voucher', signedVoucher(a.keys, { channelId: a.channelId, seq: 1n, total: amountOf(500n) })),
      b.link.publish('voucher', signedVoucher(b.keys, { channelId: b.channelId, seq: 1n, total: amountOf(700n) })),
    ]);
    await expect.poll(() => heardA.get('1')?.length ?? 0).toBe(1);
    await expect.poll(() => heardB.get('1')?.length ?? 0).toBe(1);
    expect(heardA.get('1')).toEqual(['SERVICE_UNAVAILABLE']);
    expect(heardB.get('1')).toEqual(['accepted']);
    expect(getChannel(broker.app.db, a.channelId)).toMatchObject({ latestSeq: 0n, latestTotal: 0n });
    expect(getChannel(broker.app.db, b.channelId)).toMatchObject({ latestSeq: 1n, latestTotal: 700n });
    broker.app.db.exec('DROP TRIGGER fail_a');
    expect(auditLedger(broker.app.db).filter((check) => !check.ok)).toEqual([]);
  });
});

describe('requests: one id, one request', () => {
  it('a retry with the same id and params gets the stored answer; another request under that id is IDEMPOTENCY_CONFLICT', async () => {
    broker = await startBroker();
    const [a] = await payers(broker, 1);
    if (a === undefined) throw new Error('one payer expected');
    const channel = toHex(newChannelId(random));
    const params = { channel, payee: 'meter-1', deposit: '1', durationSeconds: 600 };
    const opened = await a.link.request('channel.open', params, 'open-2');
    expect(await a.link.request('channel.open', params, 'open-2')).toEqual(opened);
    const conflict = a.link.request('channel.open', { ...params, deposit: '2' }, 'open-2');
    await expect(conflict).rejects.toBeInstanceOf(MqpayError);
    await expect(conflict).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    await expect(a.link.request('channel.topup', { channel, amount: '1' }, 'open-2')).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    // Nothing moved twice: one deposit of 1 for this channel, 5 for the first one.
    expect(getChannel(broker.app.db, Buffer.from(channel, 'hex'))).toMatchObject({ deposit: 1_000_000n });
  });
});
