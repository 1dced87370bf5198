import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruCache, TextMemo } from '../../lib/lru.js';

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

describe('TextMemo', () => {
  it('computes each text once, forgets nothing it threw, and starts afresh when full', () => {
    const calls: string[] = [];
    const memo = new TextMemo<string>(2);
    const upper = (text: string) => {
      calls.push(text);
      if (text === 'bad') throw new RangeError('bad text');
      return text.toUpperCase();
    };
    assert.equal(memo.get('a', upper), 'A');
    assert.equal(memo.get('a', upper), 'A');
    assert.deepEqual(calls, ['a'], 'the second call is remembered');
    assert.throws(() => memo.get('bad', upper), RangeError);
    assert.throws(() => memo.get('bad', upper), RangeError, 'a throw is judged again, every time');
    memo.get('b', upper);
    memo.get('c', upper); // full at two: starts afresh
    memo.get('a', upper);
    assert.deepEqual(calls, ['a', 'bad', 'bad', 'b', 'c', 'a']);
  });

  it('answers each text with its own value when texts alternate, after a throw too', () => {
    const memo = new TextMemo<string>();
    const upper = (text: string) => {
      if (text === 'bad') throw new RangeError('bad text');
      return text.toUpperCase();
    };
    const answers = ['x', 'y', 'x', 'x', 'y'].map((text) => memo.get(text, upper));
    assert.deepEqual(answers, ['X', 'Y', 'X', 'X', 'Y']);
    assert.throws(() => memo.get('bad', upper), RangeError);
    assert.equal(memo.get('y', upper), 'Y');
    assert.equal(memo.get('x', upper), 'X');
    assert.equal(
      memo.get('zz', () => ''),
      '',
      'an empty value is a value too',
    );
    assert.equal(
      memo.get('zz', () => 'recomputed'),
      '',
    );
  });
});
