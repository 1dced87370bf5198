/**
 * Remembering signatures until they expire, so that a captured request cannot be delivered twice
 * (the draft has no replay defence of its own; §6 of the spec digest).
 */

/**
 * A Store in the express-rate-limit style: methods may answer synchronously or with a promise,
 * so a shared store (Redis, a database) fits as well as the in-memory default.
 */
export interface ReplayStore {
  /**
   * Records `key` until `expiresAt` (milliseconds since the epoch). Answers `true` when the key
   * was new, `false` when it was already recorded and has not expired: a replay. Must be atomic.
   */
  remember(key: string, expiresAt: number): boolean | Promise<boolean>;
}

export interface MemoryReplayStoreOptions {
  /** Most keys held at once (default 100000); when full, new signatures are refused, not forgotten. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/** The default store: a map of keys to expiry, swept of expired entries as it is used. */
export class MemoryReplayStore implements ReplayStore {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  #nextSweep = 0;

  constructor(options: MemoryReplayStoreOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  remember(key: string, expiresAt: number): boolean {
    const now = this.#now();
    this.#sweep(now);
    const known = this.#entries.get(key);
    if (known !== undefined && known > now) return false;
    // Forgetting a live key would re-open a replay window; refusing is the safe side.
    if (this.#entries.size >= this.#maxEntries) throw new Error('the replay store is full');
    this.#entries.set(key, expiresAt);
    return true;
  }

  get size(): number {
    return this.#entries.size;
  }

  #sweep(now: number): void {
    if (now < this.#nextSweep && this.#entries.size < this.#maxEntries) return;
    this.#nextSweep = now + 10_000;
    for (const [key, expiresAt] of this.#entries) if (expiresAt <= now) this.#entries.delete(key);
  }
}
