// Nonces of accepted connect tokens, so a captured token cannot be replayed. Bounded FIFO: a
// nonce older than the token window is useless to an attacker anyway, since its time is checked.
export class NonceCache {
  private readonly seen = new Set<string>();

  constructor(private readonly entriesMax: number) {}

  /** Records the nonce; false when it was already used. */
  use(nonce: string): boolean {
    if (this.seen.has(nonce)) return false;
    if (this.seen.size >= this.entriesMax) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.add(nonce);
    return true;
  }
}
