// Signature verification for the voucher hot path. Verifying is the largest single cost of a
// voucher, so it runs on as many worker threads as the cores allow (`verifyThreads`), while the
// main thread goes on parsing, committing and relaying; when nothing waits for a worker, a few
// verifications per turn run inline instead (a hand-off costs more than a verify at low load).
//
// The rule is still the one in shared/: steps 1-4 (encodings, small order) run here on the
// main thread through `passesEncodingRule`, and step 5 is the same OpenSSL call `backends.native`
// makes, in a worker, on the very KeyObject `backends.native` uses (imported once per key by
// shared/crypto.ts, handed to each worker once). The inline path IS `verify` of shared/crypto.ts.
// Jobs go to a worker in batches packed into one transferred ArrayBuffer (no per-item clone);
// results are released in the order batches were sent, whichever worker answers first, so
// vouchers of one channel are judged in the order they arrived.
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { forgetPublicKey, publicKeyObject, verify } from '../../../shared/crypto.js';
import { bytesEqual, toHex } from '../../../shared/hex.js';
import { PUBLIC_KEY_CACHE_ENTRIES_MAX, SIGNATURE_BYTES } from '../../../shared/limits.js';
import { passesEncodingRule } from '../../../shared/signature-rule.js';
import { VERIFY_BATCH_MAX, VERIFY_INLINE_PER_TURN_MAX } from '../../limits.js';

export interface SignatureVerifier {
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean>;
  /** A device rotated away from this key: drop it from every cache (it is re-imported if seen again). */
  forget(publicKey: Uint8Array): void;
  close(): Promise<void>;
}

/** Verifies on the calling thread (tests, one-core machines, `verifyThreads: 0`). */
export const inlineVerifier: SignatureVerifier = {
  verify: (signature, message, publicKey) => Promise.resolve(verify(signature, message, publicKey)),
  forget: (publicKey) => forgetPublicKey(publicKey),
  close: () => Promise.resolve(),
};

/** One job's bytes in a batch: key id (u32), message length (u16), signature, message. */
const JOB_HEADER_BYTES = 4 + 2 + SIGNATURE_BYTES;

// Plain CommonJS with node:crypto only, run with `eval`: no build step, no file to ship.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { verify } = require('node:crypto');
const keys = new Map();
function verifyAll(bytes, view, results) {
  let offset = 0;
  for (let i = 0; i < results.length; i++) {
    const key = keys.get(view.getUint32(offset));
    const length = view.getUint16(offset + 4);
    const signature = bytes.subarray(offset + 6, offset + ${JOB_HEADER_BYTES});
    const message = bytes.subarray(offset + ${JOB_HEADER_BYTES}, offset + ${JOB_HEADER_BYTES} + length);
    offset += ${JOB_HEADER_BYTES} + length;
    try { results[i] = verify(null, message, key, signature) ? 1 : 0; } catch { results[i] = 0; }
  }
}
parentPort.on('message', ({ added, forgotten, buffer, count }) => {
  for (const [id, key] of added) keys.set(id, key);
  const results = new Uint8Array(count);
  if (count > 0) verifyAll(new Uint8Array(buffer), new DataView(buffer), results);
  // After the batch: jobs queued before their key was forgotten still find it.
  for (const id of forgotten) keys.delete(id);
  if (count > 0) parentPort.postMessage(results, [results.buffer]);
});`;

interface Job {
  readonly signature: Uint8Array;
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly keyId: number;
  readonly resolve: (valid: boolean) => void;
}

interface Batch {
  readonly jobs: Job[];
  results: Uint8Array | null;
}

/** Each distinct public key gets an id; the workers hold its KeyObject under that id. */
class KeyIds {
  private readonly ids = new Map<string, { id: number; key: KeyObject }>();
  private next = 1;
  /** Ids whose keys the workers must learn, and ids they must forget, before the next batch. */
  added: [number, KeyObject][] = [];
  forgotten: number[] = [];

  /**
   * The hex of keys seen before, by the array that held them: a channel's cached entry hands
   * over the same array for each of its vouchers, so the key is not re-encoded each time. The
   * bytes are compared with a copy all the same (an array changed in place is encoded afresh),
   * and the id is still looked up by hex, so a forgotten key is re-imported as before.
   */
  private readonly hexOf = new WeakMap<Uint8Array, { readonly hex: string; readonly bytes: Uint8Array }>();

  private hexFor(publicKey: Uint8Array): string {
    const seen = this.hexOf.get(publicKey);
    if (seen !== undefined && bytesEqual(seen.bytes, publicKey)) return seen.hex;
    const hex = toHex(publicKey);
    this.hexOf.set(publicKey, { hex, bytes: publicKey.slice() });
    return hex;
  }

  idOf(publicKey: Uint8Array): number {
    const hex = this.hexFor(publicKey);
    const known = this.ids.get(hex);
    if (known !== undefined) return known.id;
    if (this.ids.size >= PUBLIC_KEY_CACHE_ENTRIES_MAX) this.forgetHex(this.ids.keys().next().value as string);
    const entry = { id: this.next++, key: publicKeyObject(publicKey) };
    this.ids.set(hex, entry);
    this.added.push([entry.id, entry.key]);
    return entry.id;
  }

  forget(publicKey: Uint8Array): void {
    this.forgetHex(toHex(publicKey));
  }

  has(publicKey: Uint8Array): boolean {
    return this.ids.has(toHex(publicKey));
  }

  private forgetHex(hex: string): void {
    const entry = this.ids.get(hex);
    if (entry === undefined) return;
    this.ids.delete(hex);
    this.forgotten.push(entry.id);
  }
}

/** Packs a batch into one ArrayBuffer, transferred to the worker rather than cloned. */
function packBatch(jobs: readonly Job[]): ArrayBuffer {
  let size = 0;
  for (const job of jobs) size += JOB_HEADER_BYTES + job.message.length;
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  let offset = 0;
  for (const job of jobs) {
    view.setUint32(offset, job.keyId);
    view.setUint16(offset + 4, job.message.length);
    bytes.set(job.signature, offset + 6);
    bytes.set(job.message, offset + JOB_HEADER_BYTES);
    offset += JOB_HEADER_BYTES + job.message.length;
  }
  return buffer;
}

interface Slot {
  readonly worker: Worker;
  /** Batches sent to this worker and not yet answered, oldest first. */
  readonly pending: Batch[];
}

export interface WorkerVerifierOptions {
  /** Worker threads (at least 1). */
  readonly threads: number;
  /** Verifications per event-loop turn done inline while no job waits for a worker; 0: never. */
  readonly inlinePerTurnMax?: number;
}

export class WorkerVerifier implements SignatureVerifier {
  private slots: Slot[] = [];
  private readonly keys = new KeyIds();
  private queue: Job[] = [];
  /** Every batch in flight, in the order sent: results are released from the head. */
  private readonly sent: Batch[] = [];
  private scheduled = false;
  private inlineThisTurn = 0;
  private readonly inlinePerTurnMax: number;
  /** Signatures verified (past the encoding rule) on the event loop and in the workers. */
  readonly verified = { inline: 0, worker: 0 };

  constructor(options: WorkerVerifierOptions = { threads: 1 }) {
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new Error(`verify threads must be >= 1, got ${options.threads}`);
    this.inlinePerTurnMax = options.inlinePerTurnMax ?? VERIFY_INLINE_PER_TURN_MAX;
    for (let i = 0; i < options.threads; i++) this.slots.push(this.startWorker());
  }

  private startWorker(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const slot: Slot = { worker, pending: [] };
    worker.unref();
    worker.on('message', (results: Uint8Array) => this.answered(slot, results));
    // A dead worker must not lose a voucher: what it held is verified here instead.
    worker.on('error', () => this.lost(slot));
    worker.on('exit', () => this.lost(slot));
    return slot;
  }

  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
    if (!passesEncodingRule(signature, publicKey)) return Promise.resolve(false);
    if (this.slots.length === 0 || this.mayVerifyInline()) {
      this.verified.inline += 1;
      return Promise.resolve(verify(signature, message, publicKey));
    }
    return new Promise((resolve) => {
      this.queue.push({ signature, message, publicKey, keyId: this.keys.idOf(publicKey), resolve });
      if (this.queue.length >= VERIFY_BATCH_MAX) this.send();
      else this.schedule();
    });
  }

  /** Inline only while nothing waits for a worker, so answers keep their order. */
  private mayVerifyInline(): boolean {
    if (this.queue.length > 0 || this.sent.length > 0 || this.inlineThisTurn >= this.inlinePerTurnMax) return false;
    this.inlineThisTurn += 1;
    this.schedule();
    return true;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.inlineThisTurn = 0;
      this.send();
    });
  }

  private send(): void {
    this.scheduled = false;
    if (this.queue.length === 0 || this.slots.length === 0) return;
    const batch: Batch = { jobs: this.queue, results: null };
    this.queue = [];
    this.sent.push(batch);
    const buffer = packBatch(batch.jobs);
    const { added, forgotten } = this.keys;
    this.keys.added = [];
    this.keys.forgotten = [];
    // Every worker learns every key (and forgets it) in the same message order as its batches.
    const idlest = this.slots.reduce((a, b) => (b.pending.length < a.pending.length ? b : a));
    for (const slot of this.slots) {
      if (slot !== idlest && added.length + forgotten.length > 0) slot.worker.postMessage({ added, forgotten, buffer: null, count: 0 });
    }
    idlest.pending.push(batch);
    idlest.worker.postMessage({ added, forgotten, buffer, count: batch.jobs.length }, [buffer]);
  }

  private answered(slot: Slot, results: Uint8Array): void {
    const batch = slot.pending.shift();
    if (batch === undefined) return;
    batch.results = results;
    this.release();
  }

  /** Resolves answered batches from the oldest, stopping at the first still in a worker. */
  private release(): void {
    while (this.sent.length > 0 && this.sent[0]?.results != null) {
      const batch = this.sent.shift() as Batch;
      const results = batch.results as Uint8Array;
      this.verified.worker += batch.jobs.length;
      batch.jobs.forEach((job, i) => job.resolve(results[i] === 1));
    }
  }

  private lost(slot: Slot): void {
    if (!this.slots.includes(slot)) return;
    this.slots = this.slots.filter((other) => other !== slot);
    for (const batch of slot.pending.splice(0)) batch.results = Uint8Array.from(batch.jobs, (job) => (verify(job.signature, job.message, job.publicKey) ? 1 : 0));
    this.release();
    if (this.slots.length === 0) {
      for (const job of this.queue) job.resolve(verify(job.signature, job.message, job.publicKey));
      this.queue = [];
    }
  }

  /** Whether the workers hold this key (imported once, until forgotten or evicted). */
  holdsKey(publicKey: Uint8Array): boolean {
    return this.keys.has(publicKey);
  }

  forget(publicKey: Uint8Array): void {
    this.keys.forget(publicKey);
    forgetPublicKey(publicKey);
  }

  async close(): Promise<void> {
    const slots = this.slots;
    for (const slot of slots) this.lost(slot);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }
}
