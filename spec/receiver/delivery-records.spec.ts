import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryReplayStore, ReplayStoreFullError } from '../support/api.js';

describe('MemoryReplayStore: delivery records for retried messages', () => {
  it('holds, records, releases; is bounded, and frees expired records when full', () => {
    let now = 1_000_000;
    const store = new MemoryReplayStore({ maxEntries: 4000, now: () => now }); // 1000 records
    assert.deepEqual(store.claim('m1:a', now + 10_000), { held: true });
    assert.deepEqual(store.claim('m1:a', now + 10_000), { held: false }, 'held by the first: pending');
    store.settle('m1:a', { requestStatus: '2.0;Success', description: 'Delivered' }, now + 60_000);
    assert.deepEqual(store.claim('m1:a', now + 10_000), {
      held: false,
      outcome: { requestStatus: '2.0;Success', description: 'Delivered' },
    });
    assert.deepEqual(store.claim('m1:b', now + 10_000), { held: true });
    store.settle('m1:b', undefined, now + 60_000);
    assert.deepEqual(store.claim('m1:b', now + 10_000), { held: true }, 'released: a retry delivers again');

    for (let i = 0; i < 998; i++) store.claim(`fill:${i}`, now + 30_000, { domain: 'example.com' });
    assert.throws(
      () => store.claim('one-more', now + 30_000, { domain: 'example.com' }),
      ReplayStoreFullError,
    );
    now += 500; // swept less than a second ago: refused without another walk over the records
    assert.throws(() => store.claim('one-more', now + 30_000), ReplayStoreFullError);
    now += 30_500; // the fillers' holds have run out
    assert.deepEqual(store.claim('one-more', now + 30_000), { held: true });
    assert.deepEqual(
      store.claim('m1:a', now + 10_000),
      { held: false, outcome: { requestStatus: '2.0;Success', description: 'Delivered' } },
      'a record lives until its message expires',
    );
  });
});
