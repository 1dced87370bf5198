import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderSrv, type SrvRecord } from '../support/api.js';

const srv = (priority: number, weight: number, target: string, port = 443): SrvRecord => ({
  priority,
  weight,
  port,
  target,
});

describe('orderSrv (RFC 2782)', () => {
  it('puts lower priorities first', () => {
    const ordered = orderSrv([srv(20, 1, 'c'), srv(0, 1, 'a'), srv(10, 1, 'b')]);
    assert.deepEqual(
      ordered.map((r) => r.target),
      ['a', 'b', 'c'],
    );
  });

  it('treats a lone "." target as "no service here"', () => {
    assert.deepEqual(orderSrv([srv(0, 0, '.')]), []);
  });

  it('chooses by weight within a priority', () => {
    const counts = { heavy: 0, light: 0 };
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let i = 0; i < 2000; i++) {
      const first = orderSrv([srv(0, 1, 'light'), srv(0, 9, 'heavy')], random)[0]!;
      counts[first.target as 'heavy' | 'light']++;
    }
    assert.ok(counts.heavy > 1600 && counts.heavy < 1900, JSON.stringify(counts));
  });

  it('keeps every record exactly once', () => {
    const records = [srv(0, 0, 'a'), srv(0, 5, 'b'), srv(1, 0, 'c'), srv(1, 3, 'd')];
    assert.deepEqual(
      orderSrv(records)
        .map((r) => r.target)
        .sort(),
      ['a', 'b', 'c', 'd'],
    );
  });
});

describe('isDomainName', () => {
  it('accepts host and domain names, refuses what is not one', async () => {
    const { isDomainName } = await import('../../lib/dns/names.js');
    for (const good of [
      'example.com',
      'Cal.Example.COM.',
      'localhost',
      'a-b.example',
      `${'a'.repeat(63)}.example`,
    ]) {
      assert.ok(isDomainName(good), good);
    }
    for (const bad of [
      '',
      '.',
      'a..b',
      '-a.example',
      'a-.example',
      'not a host/..',
      `${'a'.repeat(64)}.example`,
      'under_score.example',
    ]) {
      assert.ok(!isDomainName(bad), bad);
    }
  });
});
