/** No key yet (any value, undefined too, may be a key). */
const NO_KEY: unique symbol = Symbol('no key');

/**
 * A bounded map that forgets the least recently used entry, with optional per-entry expiry.
 * Every cache of the package (keys, DNS answers, capabilities) is one of these, so none grows
 * without bound under hostile input.
 */
export class LruCache<K, V> {
  readonly #entries = new Map<K, { value: V; expires: number }>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  /**
   * The most recently used key, whose entry is last already. A hot key (one peer's key, one
   * domain) then costs a lookup only: re-inserting it made V8 shrink and regrow a small map's
   * table on every hit. (An expired newest entry, once deleted, comes back only through set.)
   */
  #newest: K | typeof NO_KEY = NO_KEY;

  constructor(maxEntries: number, now: () => number = Date.now) {
    if (!(maxEntries >= 1)) throw new TypeError('LruCache needs room for at least one entry');
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    if (!Object.is(this.#newest, key)) {
      // Re-insert to mark as most recently used.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.#newest = key;
    }
    return entry.value;
  }

  /** Stores a value, for `ttlMs` milliseconds when given, else until evicted. */
  set(key: K, value: V, ttlMs = Number.POSITIVE_INFINITY): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.#now() + ttlMs });
    this.#newest = key;
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }
}

/**
 * Remembers what a pure function of a short text returned, for texts that repeat from request to
 * request (a sender's `d=`, `h=`, `q=`; a Content-Type). Bounded: when full it starts afresh, so
 * a peer sending ever-new texts costs the computation each time and no memory.
 */
export class TextMemo<V> {
  readonly #values = new Map<string, V>();
  readonly #maxEntries: number;
  // The last text asked for, compared before the map: a text sliced from a fresh header has
  // no hash yet, and comparing it with the last one costs less than hashing it.
  #lastText: string | undefined;
  #lastValue: V | undefined;

  constructor(maxEntries = 256) {
    this.#maxEntries = maxEntries;
  }

  /** The value for `text`, computed (and remembered) on first sight; a throw is not remembered. */
  get(text: string, compute: (text: string) => V): V {
    if (text === this.#lastText) return this.#lastValue as V;
    let value = this.#values.get(text);
    if (value === undefined) {
      value = compute(text);
      if (this.#values.size >= this.#maxEntries) this.#values.clear();
      this.#values.set(text, value);
    }
    this.#lastText = text;
    this.#lastValue = value;
    return value;
  }
}
