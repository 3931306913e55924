// The broker's TLS material: certificate chain, key and (for mutual TLS) the CA that issues
// device certificates, read from PEM files. Reloading re-reads them and hands the new context to
// every TLS server (tls.Server.setSecureContext), so a renewed certificate is served to the next
// handshake without a restart; connections already open keep theirs. A bad new pair (a
// certificate written before its key, a typo) is logged and the old one kept: a broken renewal
// must not take the listeners down.
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { TLS_RELOAD_SETTLE_MS } from '../limits.js';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string | null;
}

export interface TlsMaterial {
  /** Options for tls.createServer / https.createServer / setSecureContext. */
  readonly context: SecureContextOptions;
  /** When the served (leaf) certificate expires, unix ms. */
  readonly notAfterMs: number;
  /** SHA-256 of the served certificate, colon-separated upper-case hex (as openssl prints it). */
  readonly fingerprint256: string;
}

export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const cert = readFileSync(files.certFile);
  const key = readFileSync(files.keyFile);
  const ca = files.clientCaFile === null ? undefined : readFileSync(files.clientCaFile);
  const context: SecureContextOptions = { cert, key, ...(ca === undefined ? {} : { ca }) };
  // Throws on a key that does not match the certificate, before any server sees the pair.
  createSecureContext(context);
  const leaf = new X509Certificate(cert);
  return { context, notAfterMs: Date.parse(leaf.validTo), fingerprint256: leaf.fingerprint256 };
}

/** What a TLS peer proved: null for a plain-text connection. */
export interface PeerCertificate {
  /** The chain verified against the client CA. */
  readonly authorized: boolean;
  readonly authorizationError: string | null;
  readonly subjectCn: string | null;
  readonly fingerprint256: string | null;
}

export function peerCertificateOf(socket: TLSSocket): PeerCertificate {
  const cert = socket.getPeerCertificate();
  const present = cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
  const cn = present ? cert.subject?.CN : undefined;
  const error = socket.authorizationError as unknown;
  return {
    authorized: socket.authorized,
    authorizationError: error === null || error === undefined ? null : String(error),
    subjectCn: typeof cn === 'string' ? cn : null, // several CNs name no one device
    fingerprint256: present ? cert.fingerprint256 : null,
  };
}

/** Holds the current material, reloads it on demand or when its files change, and tells listeners. */
export class TlsReloader {
  private material: TlsMaterial;
  private readonly listeners = new Set<(material: TlsMaterial) => void>();
  private readonly failureListeners = new Set<(error: Error) => void>();
  private watchers: FSWatcher[] = [];
  private settle: NodeJS.Timeout | null = null;

  constructor(private readonly files: TlsFiles) {
    this.material = loadTlsMaterial(files);
  }

  get current(): TlsMaterial {
    return this.material;
  }

  /** Re-reads the files; on success every listener gets the new material. Returns the error, if any. */
  reload(): Error | null {
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(this.files);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const listener of this.failureListeners) listener(failure);
      return failure;
    }
    this.material = next;
    for (const listener of this.listeners) listener(next);
    return null;
  }

  onReload(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onFailure(listener: (error: Error) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /**
   * Watches the directories of the files (not the files: renewal tools replace a file by
   * renaming a new one over it, which a watch on the old inode would miss).
   */
  watchFiles(): void {
    const files = [this.files.certFile, this.files.keyFile, ...(this.files.clientCaFile === null ? [] : [this.files.clientCaFile])].map((file) => resolve(file));
    const byDir = new Map<string, Set<string>>();
    for (const file of files) byDir.set(dirname(file), (byDir.get(dirname(file)) ?? new Set()).add(basename(file)));
    for (const [dir, names] of byDir) {
      const watcher = watch(dir, (_event, name) => {
        if (name !== null && !names.has(name.toString())) return;
        // Certificate and key are rewritten one after the other: reload once they both are.
        if (this.settle !== null) clearTimeout(this.settle);
        this.settle = setTimeout(() => {
          this.settle = null;
          this.reload();
        }, TLS_RELOAD_SETTLE_MS);
      });
      // A watch that fails (its directory removed) must not take the broker down; SIGHUP still reloads.
      watcher.on('error', (error) => {
        for (const listener of this.failureListeners) listener(error);
      });
      this.watchers.push(watcher);
    }
  }

  close(): void {
    if (this.settle !== null) clearTimeout(this.settle);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }
}
