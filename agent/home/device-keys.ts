// The agent's key pair, replaceable in place [docs/DESIGN.md rule 12]. Every part reads
// `ctx.keys.secretKey` / `publicKey` when it signs or checks, so a completed rotation takes effect
// everywhere at once. `pending` is the new key of a rotation that is written to the home but not
// yet confirmed: certificates naming it are accepted, nothing is signed with it.
import { bytesEqual } from '../../shared/hex.js';
import type { KeyPair } from '../../shared/keys.js';

export class DeviceKeys implements KeyPair {
  private current: KeyPair;
  pending: KeyPair | null = null;

  constructor(keys: KeyPair) {
    this.current = keys;
  }

  get secretKey(): Uint8Array {
    return this.current.secretKey;
  }

  get publicKey(): Uint8Array {
    return this.current.publicKey;
  }

  /** The current key, or the pending one: a certificate may already name the key being switched to. */
  isOwn(publicKey: Uint8Array): boolean {
    return bytesEqual(publicKey, this.current.publicKey) || (this.pending !== null && bytesEqual(publicKey, this.pending.publicKey));
  }

  /** Makes the pending key the current one (once the home holds it as its key file). */
  switchTo(keys: KeyPair): void {
    this.current = keys;
    this.pending = null;
  }
}
