/**
 * MemoryReplayStore on its own, with a clock the spec moves: what it remembers and for how long,
 * how it sheds the signers filling it, and the per-recipient records of claim and settle.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryReplayStore, ReplayStoreFullError } from '../support/api.js';

/** A store whose clock starts at `start` ms and moves when told. */
function storeAt(start: number, options: { maxEntries?: number; bucketSeconds?: number } = {}) {
  const clock = { now: start };
  const store = new MemoryReplayStore({ ...options, now: () => clock.now });
  return { store, clock };
}

const T0 = 1_800_000_000_000;

describe('MemoryReplayStore.remember', () => {
  it('remembers a key until it expires, and only then forgets it', () => {
    const { store, clock } = storeAt(T0, { bucketSeconds: 60 });
    const expiresAt = T0 + 300_000;
    assert.equal(store.remember('sig-1', expiresAt), true);
    assert.equal(store.remember('sig-1', expiresAt), false, 'a replay');
    assert.equal(store.remember('sig-2', expiresAt), true, 'another key');
    assert.equal(store.size, 2);
    clock.now = expiresAt - 1;
    assert.equal(store.remember('sig-1', expiresAt), false, 'still remembered just before it expires');
    // Kept to the end of its bucket at most: never more than one bucket past its expiry.
    clock.now = expiresAt + 60_000;
    assert.equal(store.size, 0);
    assert.equal(store.remember('sig-1', clock.now + 1000), true, 'forgotten once expired');
  });

  it('takes an already expired key without remembering it', () => {
    // T0 + 1: between bucket ends, so that a key wrongly kept would stay a whole bucket.
    const { store } = storeAt(T0 + 1);
    assert.equal(store.remember('old', T0 + 1), true);
    assert.equal(store.remember('old', T0 + 1), true);
    assert.equal(store.remember('older', T0 - 1), true);
    assert.equal(store.size, 0);
  });

  it('takes a key expiring exactly now without remembering it', () => {
    const { store } = storeAt(T0 + 1);
    assert.equal(store.remember('now', T0 + 1), true);
    assert.equal(store.remember('now', T0 + 1), true, 'nothing kept past its expiry');
    assert.equal(store.size, 0);
  });

  it('tells thousands of keys apart across buckets, as its tables grow', () => {
    const { store } = storeAt(T0, { bucketSeconds: 10 });
    const keys = Array.from({ length: 3000 }, (_, i) => [`key-${i}`, T0 + 1000 + (i % 7) * 10_000] as const);
    for (const [key, expiresAt] of keys) assert.equal(store.remember(key, expiresAt), true, key);
    assert.equal(store.size, keys.length);
    for (const [key, expiresAt] of keys) assert.equal(store.remember(key, expiresAt), false, key);
    assert.equal(store.remember('key-3000', T0 + 5000), true);
    assert.ok(store.tableBytes >= 3001 * 12 * 2, 'at most half full: 12 octets a slot');
  });
});

describe('MemoryReplayStore when full', () => {
  const full = (error: unknown, group: string) =>
    error instanceof ReplayStoreFullError && error.group === group && error.retryAfter >= 1;

  it('refuses the signer holding the most, counted by registrable domain, and still takes others', () => {
    const { store, clock } = storeAt(T0, { maxEntries: 4, bucketSeconds: 60 });
    const until = T0 + 120_000;
    for (let i = 0; i < 4; i++) assert.ok(store.remember(`a-${i}`, until, { domain: `s${i}.flood.example` }));
    assert.throws(
      () => store.remember('a-4', until, { domain: 'other.flood.example' }),
      (e) => full(e, 'flood.example'),
    );
    for (const quiet of ['one.example', 'two.example', 'three.example', 'four.example']) {
      assert.equal(
        store.remember(`b-${quiet}`, until, { domain: quiet }),
        true,
        'a quiet signer still gets in',
      );
    }
    assert.equal(store.size, 8);
    assert.throws(
      () => store.remember('c-0', until, { domain: 'late.example' }),
      (e) => full(e, 'late.example'),
      'never beyond twice maxEntries',
    );
    clock.now = until + 60_000;
    assert.equal(store.remember('a-4', clock.now + 1000, { domain: 'flood.example' }), true, 'room again');
  });

  it('gives each signer an equal share, not more, and refuses none below it', () => {
    const { store } = storeAt(T0, { maxEntries: 6 });
    const until = T0 + 120_000;
    const add = (key: string, domain: string) => store.remember(key, until, { domain });
    for (const [key, domain] of [
      ['a-1', 'a.example'],
      ['b-1', 'b.example'],
      ['a-2', 'a.example'],
      ['a-3', 'a.example'],
      ['a-4', 'a.example'],
      ['c-1', 'c.example'],
    ] as const) {
      assert.equal(add(key, domain), true, `${key}: the store is not full yet`);
    }
    // Full: six keys, three signers, a share of two each.
    assert.equal(add('b-2', 'b.example'), true, 'one below its share');
    assert.throws(
      () => add('a-5', 'a.example'),
      (e) => full(e, 'a.example'),
    );
    assert.equal(add('b-1', 'b.example'), false, 'and its keys are still remembered');
    assert.equal(add('a-1', 'a.example'), false);
  });

  it('still counts a signer’s keys in later buckets when its earlier ones expire', () => {
    const { store, clock } = storeAt(T0, { maxEntries: 4, bucketSeconds: 60 });
    store.remember('a-0', T0 + 60_000, { domain: 'a.example' });
    for (let i = 1; i < 4; i++) store.remember(`a-${i}`, T0 + 120_000, { domain: 'a.example' });
    clock.now = T0 + 60_000;
    assert.equal(store.remember('b-0', T0 + 120_000, { domain: 'b.example' }), true);
    // Full again: two signers, a share of two each; a.example still holds three.
    assert.throws(
      () => store.remember('a-4', T0 + 120_000, { domain: 'a.example' }),
      (e) => full(e, 'a.example'),
    );
  });

  it('forgets a signer’s share when its keys expire', () => {
    const { store, clock } = storeAt(T0, { maxEntries: 4, bucketSeconds: 60 });
    for (let i = 0; i < 4; i++) store.remember(`f-${i}`, T0 + 60_000, { domain: 'flood.example' });
    clock.now = T0 + 60_000;
    const until = clock.now + 60_000;
    for (const key of ['q-1', 'q-2', 'q-3']) store.remember(key, until, { domain: 'quiet.example' });
    store.remember('o-1', until, { domain: 'other.example' });
    assert.equal(
      store.remember('o-2', until, { domain: 'other.example' }),
      true,
      'two signers now, not three',
    );
    assert.throws(
      () => store.remember('q-4', until, { domain: 'quiet.example' }),
      (e) => full(e, 'quiet.example'),
    );
  });

  it('names the holder it refuses: keys without a domain, and domains without a registrable part', () => {
    const { store } = storeAt(T0, { maxEntries: 1 });
    store.remember('k-1', T0 + 60_000);
    assert.throws(
      () => store.remember('k-2', T0 + 60_000),
      (e) => full(e, '(unknown)'),
    );
    const other = storeAt(T0, { maxEntries: 1 }).store;
    other.remember('k-1', T0 + 60_000, { domain: 'Intranet' });
    assert.throws(
      () => other.remember('k-2', T0 + 60_000, { domain: 'INTRANET' }),
      (e) => full(e, 'intranet'),
    );
  });

  it('asks to retry when its oldest keys expire', () => {
    const { store } = storeAt(T0, { maxEntries: 1, bucketSeconds: 1 });
    store.remember('k1', T0 + 30_000, { domain: 'a.example' });
    assert.throws(
      () => store.remember('k2', T0 + 30_000, { domain: 'a.example' }),
      (e: unknown) => e instanceof ReplayStoreFullError && e.retryAfter === 30,
    );
  });
});

describe('MemoryReplayStore records (claim and settle)', () => {
  it('holds a claim until it is settled or its hold ends', () => {
    const { store, clock } = storeAt(T0);
    assert.deepEqual(store.claim('msg:r1', T0 + 10_000), { held: true });
    assert.deepEqual(store.claim('msg:r1', T0 + 10_000), { held: false }, 'in flight elsewhere');
    assert.deepEqual(store.claim('msg:r2', T0 + 10_000), { held: true }, 'another recipient');
    clock.now = T0 + 10_000;
    assert.deepEqual(
      store.claim('msg:r1', T0 + 20_000),
      { held: true },
      'an abandoned claim can be taken again',
    );
  });

  it('answers a settled recipient with its outcome until the message expires; an unsettled one is free', () => {
    const { store, clock } = storeAt(T0);
    store.claim('msg:r1', T0 + 10_000);
    store.settle('msg:r1', { requestStatus: '2.0;Delivered' }, T0 + 60_000);
    store.claim('msg:r2', T0 + 10_000);
    store.settle(
      'msg:r2',
      { requestStatus: '3.7;Invalid calendar user', description: 'unknown' },
      T0 + 60_000,
    );
    store.claim('msg:r3', T0 + 10_000);
    store.settle('msg:r3', undefined, T0 + 60_000);
    // The same status with and without a description, or with another one: each its own outcome.
    store.settle('msg:r4', { requestStatus: '3.7;Invalid calendar user' }, T0 + 60_000);
    store.settle('msg:r5', { requestStatus: '3.7;Invalid calendar user', description: '' }, T0 + 60_000);
    store.settle(
      'msg:r6',
      { requestStatus: '3.7;Invalid calendar user', description: 'no such user' },
      T0 + 60_000,
    );
    clock.now = T0 + 59_999;
    assert.deepEqual(store.claim('msg:r1', T0 + 70_000), {
      held: false,
      outcome: { requestStatus: '2.0;Delivered' },
    });
    assert.deepEqual(store.claim('msg:r2', T0 + 70_000), {
      held: false,
      outcome: { requestStatus: '3.7;Invalid calendar user', description: 'unknown' },
    });
    assert.deepEqual(
      store.claim('msg:r3', T0 + 70_000),
      { held: true },
      'settled without outcome: try again',
    );
    assert.deepEqual(store.claim('msg:r4', T0 + 70_000), {
      held: false,
      outcome: { requestStatus: '3.7;Invalid calendar user' },
    });
    assert.deepEqual(store.claim('msg:r5', T0 + 70_000), {
      held: false,
      outcome: { requestStatus: '3.7;Invalid calendar user', description: '' },
    });
    assert.deepEqual(store.claim('msg:r6', T0 + 70_000), {
      held: false,
      outcome: { requestStatus: '3.7;Invalid calendar user', description: 'no such user' },
    });
    clock.now = T0 + 60_000;
    assert.deepEqual(store.claim('msg:r1', T0 + 70_000), { held: true }, 'the message expired');
  });

  it('refuses new claims when every record is live, and takes them once some expire', () => {
    // maxEntries 4 gives the smallest record table, 1000 records.
    const { store, clock } = storeAt(T0, { maxEntries: 4 });
    for (let i = 0; i < 1000; i++) store.claim(`m:${i}`, T0 + (i < 10 ? 5_000 : 60_000));
    assert.throws(
      () => store.claim('m:late', T0 + 60_000, { domain: 'busy.example' }),
      (e: unknown) => e instanceof ReplayStoreFullError && e.group === 'busy.example' && e.retryAfter === 60,
    );
    clock.now = T0 + 5_000;
    assert.deepEqual(store.claim('m:late', T0 + 60_000), { held: true });
    assert.deepEqual(store.claim('m:500', T0 + 60_000), { held: false }, 'live records were kept');
  });

  it('walks a full record table at most once a second, so refusals stay cheap', () => {
    const { store, clock } = storeAt(T0, { maxEntries: 4 });
    for (let i = 0; i < 1000; i++) store.claim(`m:${i}`, T0 + (i < 10 ? 500 : 60_000));
    const refused = (e: unknown) => e instanceof ReplayStoreFullError;
    assert.throws(() => store.claim('m:late', T0 + 60_000), refused, 'walked: nothing expired');
    clock.now = T0 + 999;
    assert.throws(
      () => store.claim('m:late', T0 + 60_000),
      refused,
      'ten records have expired since, but the last walk was under a second ago',
    );
    clock.now = T0 + 1000;
    assert.deepEqual(store.claim('m:late', T0 + 60_000), { held: true }, 'a second later: walked again');
  });
});
