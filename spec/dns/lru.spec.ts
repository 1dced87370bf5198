import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruCache } from '../../lib/lru.js';

describe('LruCache', () => {
  it('forgets the least recently used entry when full, and expired entries', () => {
    let now = 0;
    const cache = new LruCache<string, number>(2, () => now);
    cache.set('a', 1);
    cache.set('b', 2);
    assert.equal(cache.get('a'), 1); // a is now the most recent
    cache.set('c', 3);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 1);
    cache.set('d', 4, 1000);
    now = 1000;
    assert.equal(cache.get('d'), undefined, 'expired');
    assert.throws(() => new LruCache(0), TypeError);
  });
});
