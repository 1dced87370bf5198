import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
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

  it('keeps exactly what a plain least-recently-used list keeps, whatever the order of gets, sets and expiries', () => {
    // The model: an array, oldest first, every hit moved to the end. The cache skips moving
    // an entry that is last already; nothing else may differ.
    // Few keys, small caches and few expiries: the orders in which the two could part.
    const key = fc.integer({ min: 0, max: 2 });
    const operation = fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
      {
        weight: 4,
        arbitrary: fc.record({
          op: fc.constant('set' as const),
          key,
          ttl: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined, freq: 4 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('tick' as const) }) },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(operation, { minLength: 20, maxLength: 80 }),
        (size, operations) => {
          let now = 0;
          const cache = new LruCache<number, number>(size, () => now);
          let model: Array<{ key: number; value: number; expires: number }> = [];
          let value = 0;
          for (const step of operations) {
            if (step.op === 'tick') {
              now++;
            } else if (step.op === 'set') {
              value++;
              cache.set(step.key, value, step.ttl);
              model = model.filter((e) => e.key !== step.key);
              model.push({ key: step.key, value, expires: now + (step.ttl ?? Number.POSITIVE_INFINITY) });
              if (model.length > size) model.shift();
            } else {
              const entry = model.find((e) => e.key === step.key);
              let expected: number | undefined;
              if (entry && entry.expires > now) {
                expected = entry.value;
                model = [...model.filter((e) => e !== entry), entry];
              } else if (entry) {
                model = model.filter((e) => e !== entry);
              }
              assert.equal(cache.get(step.key), expected);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
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
