/**
 * The default replay store: in this process, in time buckets of typed arrays, bounded, shedding
 * the largest holders when full.
 */

import { hash, randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { registrableDomain } from '../dns/names.js';
import { LruCache } from '../lru.js';
import type {
  RecipientRecord,
  RecordedOutcome,
  ReplayContext,
  ReplayStore,
} from '../receiver/replay-store.js';
import { ReplayStoreFullError } from '../receiver/replay-store.js';
import { amount, checkOptions, fn, positiveInteger } from '../validation.js';

/** Options of MemoryReplayStore. */
export interface MemoryReplayStoreOptions {
  /**
   * Keys held before the store sheds (default 1,000,000, about 24-48 MB). When full, signing
   * domains holding at least an equal share are refused (503) while the others are still taken,
   * so memory stays under twice this number.
   */
  readonly maxEntries?: number;
  /** Width of the expiry buckets, seconds (default 120): a key is kept until its bucket ends. */
  readonly bucketSeconds?: number;
  readonly now?: () => number;
}

/**
 * The default store, in this process only: keys become salted 64-bit fingerprints in hash
 * tables of typed arrays (12 octets a slot, at most half full), one table per expiry bucket, so
 * expired keys go a whole bucket at a time and nothing is swept per call. A restart forgets
 * everything, which reopens the replay window of signatures still valid; a shared store
 * (e.g. Redis) closes it.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #maxEntries: number;
  readonly #bucketMs: number;
  readonly #now: () => number;
  // ASCII, so that hashing never needs a UTF-8 conversion of the key.
  readonly #salt = randomBytes(16).toString('hex');
  /** Buckets by end time, oldest first. */
  readonly #buckets: Bucket[] = [];
  readonly #groups = new Groups();
  #size = 0;
  /** Per-recipient outcomes of messages (claim/settle), by salted digest. */
  readonly #records = new Map<string, { readonly until: number; readonly outcome?: RecordedOutcome }>();
  readonly #maxRecords: number;
  readonly #outcomes = new LruCache<string, RecordedOutcome>(256);
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: MemoryReplayStoreOptions = {}) {
    checkOptions(
      v.strictObject(
        {
          maxEntries: v.optional(positiveInteger()),
          bucketSeconds: v.optional(amount('a number of seconds, at least 1', 1)),
          now: v.optional(fn('a function returning milliseconds')),
        },
        'an object',
      ),
      options,
      'MemoryReplayStore options',
    );
    this.#maxEntries = options.maxEntries ?? 1_000_000;
    // About 125 octets a record (against 37-47 a signature): a quarter as many by default (31 MB),
    // which holds 830 recipients/s for 5-minute signatures, 70/s for hour-long ones.
    this.#maxRecords = Math.max(1000, Math.floor(this.#maxEntries / 4));
    this.#bucketMs = (options.bucketSeconds ?? 120) * 1000;
    this.#now = options.now ?? Date.now;
  }

  remember(key: string, expiresAt: number, context?: ReplayContext): boolean {
    const now = this.#now();
    this.#expire(now);
    // Hex output is the cheapest form of node:crypto's one-shot hash to read numbers from.
    const digest = hash('sha256', this.#salt + key, 'hex');
    const high = Number.parseInt(digest.slice(0, 8), 16);
    const low = Number.parseInt(digest.slice(8, 16), 16);
    for (const bucket of this.#buckets) if (bucket.has(high, low)) return false;
    if (expiresAt <= now) return true; // Already expired: nothing to remember.

    const group = groupOf(context?.domain);
    if (this.#size >= this.#maxEntries) this.#shed(group, now);
    const id = this.#groups.id(group);
    this.#bucketFor(expiresAt).add(high, low, id);
    this.#groups.add(id, 1);
    this.#size++;
    return true;
  }

  claim(key: string, holdUntil: number, context?: ReplayContext): RecipientRecord {
    const now = this.#now();
    const id = this.#recordId(key);
    const found = this.#records.get(id);
    if (found && found.until > now)
      return found.outcome ? { held: false, outcome: found.outcome } : { held: false };
    if (this.#records.size >= this.#maxRecords) this.#sweepRecords(now, groupOf(context?.domain));
    this.#records.set(id, { until: holdUntil });
    return { held: true };
  }

  settle(key: string, outcome: RecordedOutcome | undefined, expiresAt: number): void {
    const id = this.#recordId(key);
    if (outcome) this.#records.set(id, { until: expiresAt, outcome: this.#intern(outcome) });
    else this.#records.delete(id);
  }

  /** 72 bits of a salted digest: collisions are out of reach, and (under 13 characters) V8 copies
   * the slice instead of keeping the whole digest alive behind it. */
  #recordId(key: string): string {
    return hash('sha256', this.#salt + key, 'base64url').slice(0, 12);
  }

  /** Outcomes repeat (2.0 Delivered, 3.7 unknown user, ...): one object each, shared by the records. */
  #intern(outcome: RecordedOutcome): RecordedOutcome {
    // An outcome without a description and one with an empty description are two outcomes.
    const key =
      outcome.description === undefined
        ? outcome.requestStatus
        : `${outcome.requestStatus}\n${outcome.description}`;
    let shared = this.#outcomes.get(key);
    if (!shared) {
      shared =
        outcome.description === undefined
          ? { requestStatus: outcome.requestStatus }
          : { requestStatus: outcome.requestStatus, description: outcome.description };
      this.#outcomes.set(key, shared);
    }
    return shared;
  }

  /** Drops expired outcomes; when none has expired, the store is full for now. */
  #sweepRecords(now: number, group: string): void {
    // A full sweep walks every record: at most once a second, or a full store would make each
    // refused request pay for a walk over all of them.
    if (now - this.#lastSweep >= 1000) {
      this.#lastSweep = now;
      for (const [id, record] of this.#records) if (record.until <= now) this.#records.delete(id);
      if (this.#records.size < this.#maxRecords) return;
    }
    throw new ReplayStoreFullError(
      `this receiver is remembering too many recent deliveries (${this.#records.size}); retry in 60 s`,
      60,
      group,
    );
  }

  /** Keys remembered now. */
  get size(): number {
    this.#expire(this.#now());
    return this.#size;
  }

  /** Octets held by the tables (for capacity measurements). */
  get tableBytes(): number {
    return this.#buckets.reduce((sum, b) => sum + b.bytes, 0);
  }

  /** Refuses `group` when it holds at least an equal share of a full store. */
  #shed(group: string, now: number): void {
    const share = Math.max(1, Math.floor(this.#maxEntries / this.#groups.count));
    const held = this.#groups.held(group);
    if (held < share && this.#size < 2 * this.#maxEntries) return;
    const retryAfter = Math.max(1, Math.ceil(((this.#buckets[0]?.end ?? now) - now) / 1000));
    throw new ReplayStoreFullError(
      `this receiver is remembering too many recent signatures from ${group} (${held} of ${this.#size}); retry in ${retryAfter} s`,
      retryAfter,
      group,
    );
  }

  #bucketFor(expiresAt: number): Bucket {
    const end = Math.ceil(expiresAt / this.#bucketMs) * this.#bucketMs;
    let index = this.#buckets.length;
    while (index > 0 && this.#buckets[index - 1]!.end > end) index--;
    const before = this.#buckets[index - 1];
    if (before?.end === end) return before;
    const bucket = new Bucket(end);
    this.#buckets.splice(index, 0, bucket);
    return bucket;
  }

  #expire(now: number): void {
    while (this.#buckets.length > 0 && this.#buckets[0]!.end <= now) {
      const bucket = this.#buckets.shift()!;
      this.#size -= bucket.size;
      for (const [id, count] of bucket.perGroup) this.#groups.add(id, -count);
    }
  }
}

/**
 * Signing domains are counted by registrable domain: random sub-domains are one holder. The
 * Public Suffix List lookup is remembered for the domains seen most recently.
 */
function groupOf(domain: string | undefined): string {
  if (!domain) return '(unknown)';
  let group = groups.get(domain);
  if (group === undefined) {
    group = registrableDomain(domain) ?? domain.toLowerCase();
    groups.set(domain, group);
  }
  return group;
}

const groups = new LruCache<string, string>(10_000);

/** Group names to small ids, and how many live keys each holds. */
class Groups {
  readonly #ids = new Map<string, number>();
  readonly #names = new Map<number, string>();
  readonly #held = new Map<number, number>();
  #next = 1;

  id(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.#next++;
      this.#ids.set(name, id);
      this.#names.set(id, name);
    }
    return id;
  }

  held(name: string): number {
    const id = this.#ids.get(name);
    return id === undefined ? 0 : (this.#held.get(id) ?? 0);
  }

  /** Groups holding keys now. */
  get count(): number {
    return Math.max(1, this.#held.size);
  }

  add(id: number, delta: number): void {
    const held = (this.#held.get(id) ?? 0) + delta;
    if (held > 0) {
      this.#held.set(id, held);
      return;
    }
    this.#held.delete(id);
    const name = this.#names.get(id);
    this.#names.delete(id);
    if (name !== undefined) this.#ids.delete(name);
  }
}

/** One expiry bucket: an open-addressing set of 64-bit fingerprints, doubled when half full. */
class Bucket {
  readonly end: number;
  readonly perGroup = new Map<number, number>();
  size = 0;
  #high = new Uint32Array(64);
  #low = new Uint32Array(64);
  /** Group id per slot; 0 marks an empty slot. */
  #group = new Uint32Array(64);

  constructor(end: number) {
    this.end = end;
  }

  get bytes(): number {
    return this.#high.byteLength * 3;
  }

  has(high: number, low: number): boolean {
    const mask = this.#group.length - 1;
    for (let slot = (high ^ low) & mask; this.#group[slot] !== 0; slot = (slot + 1) & mask) {
      if (this.#high[slot] === high && this.#low[slot] === low) return true;
    }
    return false;
  }

  add(high: number, low: number, group: number): void {
    if ((this.size + 1) * 2 > this.#group.length) this.#grow();
    this.#place(high, low, group);
    this.size++;
    this.perGroup.set(group, (this.perGroup.get(group) ?? 0) + 1);
  }

  #place(high: number, low: number, group: number): void {
    const mask = this.#group.length - 1;
    let slot = (high ^ low) & mask;
    while (this.#group[slot] !== 0) slot = (slot + 1) & mask;
    this.#high[slot] = high;
    this.#low[slot] = low;
    this.#group[slot] = group;
  }

  #grow(): void {
    const [high, low, group] = [this.#high, this.#low, this.#group];
    const length = group.length * 2;
    this.#high = new Uint32Array(length);
    this.#low = new Uint32Array(length);
    this.#group = new Uint32Array(length);
    for (let slot = 0; slot < group.length; slot++) {
      if (group[slot] !== 0) this.#place(high[slot]!, low[slot]!, group[slot]!);
    }
  }
}
