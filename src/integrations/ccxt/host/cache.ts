/**
 * A short-lived cache for market data, living in the exchange host next to the shared public
 * client, so it serves every session of the server:
 *
 * - identical requests in flight at the same time are coalesced into one upstream call;
 * - a result is kept for its kind's TTL (0 = coalescing only) and served from memory until then;
 * - failures are never cached (the next caller tries again);
 * - at most `maxEntries` results are kept; the oldest go first.
 */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Callers that joined a request already in flight. */
  coalesced: number;
  entries: number;
}

interface Entry {
  value: Promise<unknown>;
  /** Epoch ms after which the entry is stale; Infinity while in flight. */
  expires: number;
}

export class TtlCache {
  private readonly entries = new Map<string, Entry>();
  private readonly counts = { hits: 0, misses: 0, coalesced: 0 };

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached value of `key`, or `load()`'s (shared with any concurrent caller of the same key). */
  get<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit) {
      if (hit.expires === Infinity) {
        this.counts.coalesced++;
        return hit.value as Promise<T>;
      }
      if (hit.expires > t) {
        this.counts.hits++;
        return hit.value as Promise<T>;
      }
      this.entries.delete(key);
    }
    this.counts.misses++;
    const entry: Entry = { value: Promise.resolve(), expires: Infinity };
    entry.value = (async () => load())().then(
      (v) => {
        if (this.entries.get(key) === entry) {
          if (ttlMs > 0) entry.expires = this.now() + ttlMs;
          else this.entries.delete(key);
        }
        return v;
      },
      (err: unknown) => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw err;
      },
    );
    this.entries.set(key, entry);
    this.trim();
    return entry.value as Promise<T>;
  }

  private trim(): void {
    if (this.entries.size <= this.maxEntries) return;
    const t = this.now();
    for (const [k, e] of this.entries) if (e.expires !== Infinity && e.expires <= t) this.entries.delete(k);
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries) break;
      if (e.expires !== Infinity) this.entries.delete(k); // in-flight entries stay: callers are joined to them
    }
  }

  clear(): void {
    this.entries.clear();
  }

  stats(): CacheStats {
    return { ...this.counts, entries: this.entries.size };
  }
}
