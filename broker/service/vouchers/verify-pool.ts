// Signature verification for the voucher hot path, off the event loop. Verifying is the
// largest single cost of a voucher; a worker thread does it on the second core while the main
// thread goes on parsing, committing and relaying.
//
// The rule is still the one in shared/: steps 1-4 (encodings, small order) run here on the
// main thread through `passesEncodingRule`, and step 5 is the same OpenSSL call `backends.native`
// makes, in the worker. One worker, FIFO: results come back in the order jobs were sent, so
// vouchers of one channel are judged in the order they arrived.
import { Worker } from 'node:worker_threads';
import { publicKeySpki, verify } from '../../../shared/crypto.js';
import { PUBLIC_KEY_CACHE_ENTRIES_MAX } from '../../../shared/limits.js';
import { passesEncodingRule } from '../../../shared/signature-rule.js';
import { VERIFY_BATCH_MAX } from '../../limits.js';

export interface SignatureVerifier {
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean>;
  close(): Promise<void>;
}

/** Verifies on the calling thread (tests, one-core machines, `verifyThreads: 0`). */
export const inlineVerifier: SignatureVerifier = {
  verify: (signature, message, publicKey) => Promise.resolve(verify(signature, message, publicKey)),
  close: () => Promise.resolve(),
};

// Plain CommonJS with node:crypto only, run with `eval`: no build step, no file to ship.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const keys = new Map();
parentPort.on('message', (jobs) => {
  const results = new Uint8Array(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const [signature, message, spki] = jobs[i];
    const id = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength).toString('base64');
    let key = keys.get(id);
    if (key === undefined) {
      key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
      if (keys.size >= ${PUBLIC_KEY_CACHE_ENTRIES_MAX}) keys.delete(keys.keys().next().value);
      keys.set(id, key);
    }
    try { results[i] = verify(null, message, key, signature) ? 1 : 0; } catch { results[i] = 0; }
  }
  parentPort.postMessage(results);
});`;

interface Job {
  readonly signature: Uint8Array;
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly resolve: (valid: boolean) => void;
}

export class WorkerVerifier implements SignatureVerifier {
  private readonly worker: Worker;
  private queue: Job[] = [];
  private readonly sent: Job[][] = [];
  private scheduled = false;
  private broken = false;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (results: Uint8Array) => this.answered(results));
    // A dead worker must not lose a voucher: what it held is verified here instead.
    this.worker.on('error', () => this.fallBack());
    this.worker.on('exit', () => this.fallBack());
  }

  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
    if (!passesEncodingRule(signature, publicKey)) return Promise.resolve(false);
    if (this.broken) return Promise.resolve(verify(signature, message, publicKey));
    return new Promise((resolve) => {
      this.queue.push({ signature, message, publicKey, resolve });
      if (this.queue.length >= VERIFY_BATCH_MAX) this.send();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.send());
      }
    });
  }

  private send(): void {
    this.scheduled = false;
    if (this.queue.length === 0 || this.broken) return;
    const batch = this.queue;
    this.queue = [];
    this.sent.push(batch);
    this.worker.postMessage(batch.map((job) => [job.signature, job.message, publicKeySpki(job.publicKey)]));
  }

  private answered(results: Uint8Array): void {
    const batch = this.sent.shift();
    batch?.forEach((job, i) => job.resolve(results[i] === 1));
  }

  private fallBack(): void {
    if (this.broken) return;
    this.broken = true;
    for (const job of [...this.sent.flat(), ...this.queue]) job.resolve(verify(job.signature, job.message, job.publicKey));
    this.sent.length = 0;
    this.queue = [];
  }

  async close(): Promise<void> {
    this.fallBack();
    await this.worker.terminate();
  }
}
