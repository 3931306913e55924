// Work in flight, by key (a channel, a device): a request waits only for the vouchers of its
// own channel or device, never for everyone's [docs/DESIGN.md rule 15].
export class InFlight {
  private readonly byKey = new Map<string, Set<Promise<void>>>();

  /** Tracks `work` under each key until it settles; returns it. */
  track(keys: readonly string[], work: Promise<void>): Promise<void> {
    for (const key of keys) {
      let set = this.byKey.get(key);
      if (set === undefined) {
        set = new Set();
        this.byKey.set(key, set);
      }
      set.add(work);
    }
    const untrack = (): void => {
      for (const key of keys) {
        const set = this.byKey.get(key);
        if (set === undefined) continue;
        set.delete(work);
        if (set.size === 0) this.byKey.delete(key);
      }
    };
    work.then(untrack, untrack);
    return work;
  }

  /** Resolves once everything tracked under `key` now has settled. */
  async settled(key: string): Promise<void> {
    const set = this.byKey.get(key);
    if (set !== undefined) await Promise.allSettled([...set]);
  }
}
