/**
 * parseSignature: what a DKIM-Signature value must hold before any key is looked up, tag by tag,
 * and what it hands on to verification.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSignature } from '../../lib/dkim/signature.js';
import { failureReason } from '../support/outcome.js';

const BASE =
  'v=1; a=rsa-sha256; c=ischedule-relaxed/simple; d=example.com; s=jupiter; t=1700000000; ' +
  'x=1700000300; q=dns/txt:http/well-known; ' +
  'h=Originator:Recipient:Content-Type:iSchedule-Version; bh=AAAA; b=AAECAw==';

/** BASE with one tag replaced (or removed, when `value` is undefined) or added at the end. */
function withTag(name: string, value: string | undefined): string {
  const tags = BASE.split('; ').filter((tag) => !tag.startsWith(`${name}=`));
  return [...tags, ...(value === undefined ? [] : [`${name}=${value}`])].join('; ');
}

const reasonOf = (value: string, allowSha1 = false) => {
  const reason = failureReason(() => parseSignature(value, { allowSha1 }));
  return reason === 'accepted' ? 'parsed' : reason;
};

describe('parseSignature', () => {
  it('hands on every tag verification needs, names as written and lists in order', () => {
    const parsed = parseSignature(withTag('l', '1200'));
    assert.equal(parsed.algorithm, 'rsa-sha256');
    assert.equal(parsed.domain, 'example.com');
    assert.equal(parsed.selector, 'jupiter');
    assert.deepEqual(parsed.signedHeaders, ['Originator', 'Recipient', 'Content-Type', 'iSchedule-Version']);
    assert.deepEqual(parsed.queryMethods, ['dns/txt', 'http/well-known']);
    assert.deepEqual(parsed.signature, Buffer.from([0, 1, 2, 3]));
    assert.deepEqual(parsed.bodyHash, Buffer.from([0, 0, 0]));
    assert.equal(parsed.signedAt, 1_700_000_000);
    assert.equal(parsed.expiresAt, 1_700_000_300);
    assert.equal(parsed.bodyLength, 1200);
    const bare = parseSignature(withTag('x', undefined).replace('t=1700000000; ', ''));
    assert.equal('signedAt' in bare || 'expiresAt' in bare || 'bodyLength' in bare, false);
  });

  it('reads d= and s= case-insensitively, a trailing dot dropped', () => {
    const parsed = parseSignature(withTag('d', 'Mail.Example.COM.').replace('s=jupiter', 's=Cal_2026.Keys'));
    assert.equal(parsed.domain, 'mail.example.com');
    assert.equal(parsed.selector, 'cal_2026.keys');
  });

  it('requires every one of v, a, b, bh, d, s, h and q', () => {
    for (const name of ['v', 'a', 'b', 'bh', 'd', 's', 'h', 'q']) {
      assert.equal(reasonOf(withTag(name, undefined)), 'missing-tag', name);
    }
  });

  it('takes only c=ischedule-relaxed/simple or c=ischedule-relaxed', () => {
    assert.equal(reasonOf(withTag('c', 'ischedule-relaxed')), 'parsed');
    for (const c of [
      undefined,
      'simple/simple',
      'relaxed/simple',
      'ischedule-relaxed/relaxed',
      'ISCHEDULE-RELAXED/SIMPLE',
    ]) {
      assert.equal(reasonOf(withTag('c', c)), 'unsupported-canonicalization', String(c));
    }
  });

  it('takes rsa-sha256 and ed25519-sha256, and rsa-sha1 only when the caller opts in', () => {
    assert.equal(reasonOf(withTag('a', 'ed25519-sha256')), 'parsed');
    assert.equal(parseSignature(withTag('a', 'ed25519-sha256')).algorithm, 'ed25519-sha256');
    assert.equal(reasonOf(withTag('a', 'rsa-sha1')), 'unsupported-algorithm');
    assert.equal(reasonOf(withTag('a', 'rsa-sha1'), true), 'parsed');
    assert.equal(reasonOf(withTag('a', 'RSA-SHA256')), 'unsupported-algorithm');
    assert.equal(reasonOf(withTag('v', '01')), 'unsupported-version');
  });

  it('refuses a d= that is not a domain name, and an s= that is not a selector', () => {
    for (const d of ['', '192.0.2.1', 'example..com', '-example.com', 'exa mple.com', 'user@example.com']) {
      assert.equal(reasonOf(withTag('d', d)), 'malformed-signature', `d=${d}`);
    }
    for (const s of ['', '-x', 'x-', 'a..b', 'a/b', 'x'.repeat(64), `${'a.'.repeat(127)}ab`]) {
      assert.equal(reasonOf(BASE.replace('s=jupiter', `s=${s}`)), 'malformed-signature', `s=${s}`);
    }
    assert.equal(reasonOf(BASE.replace('s=jupiter', `s=${'a'.repeat(63)}.b_c`)), 'parsed');
    for (const s of ['a', 'k.b', 'x.y.z'])
      assert.equal(reasonOf(BASE.replace('s=jupiter', `s=${s}`)), 'parsed', `s=${s}`);
  });

  it('takes i= only within d=', () => {
    for (const i of ['bernard@example.com', '@example.com', 'x@cal.example.com', 'x@EXAMPLE.com.']) {
      assert.equal(reasonOf(withTag('i', i)), 'parsed', i);
    }
    for (const i of ['bernard@example.net', 'x@badexample.com', 'example.com', 'x@com']) {
      assert.equal(reasonOf(withTag('i', i)), 'malformed-signature', i);
    }
  });

  it('takes t=, x= and l= as up to twelve digits, x= not before t=', () => {
    assert.equal(reasonOf(withTag('x', '1700000000')), 'parsed', 'x= equal to t=');
    assert.equal(reasonOf(withTag('x', '1699999999')), 'malformed-signature');
    for (const [name, value] of [
      ['t', '-1'],
      ['t', '1e9'],
      ['x', '0x10'],
      ['l', '1234567890123'],
      ['l', ''],
      ['t', '17 00'],
    ] as const) {
      assert.equal(reasonOf(withTag(name, value)), 'malformed-signature', `${name}=${value}`);
    }
    assert.equal(parseSignature(withTag('l', '123456789012')).bodyLength, 123_456_789_012);
  });

  it('checks h=: header names, each once, the ones iSchedule requires', () => {
    const h = (value: string) => reasonOf(withTag('h', value));
    assert.equal(h('Originator : Recipient:\tContent-Type:iSchedule-Version'), 'parsed');
    assert.equal(
      h('Originator:Recipient:Content-Type:iSchedule-Version:originator'),
      'duplicate-signed-header',
    );
    for (const missing of ['Originator', 'Recipient', 'Content-Type', 'iSchedule-Version']) {
      const list = ['Originator', 'Recipient', 'Content-Type', 'iSchedule-Version'].filter(
        (n) => n !== missing,
      );
      assert.equal(h(list.join(':')), 'required-header-unsigned', missing);
    }
    for (const bad of [
      'Originator::Recipient',
      ':Originator',
      'Origi nator:Recipient',
      'Originator:Recipient:',
    ]) {
      assert.equal(h(bad), 'malformed-signature', bad);
    }
  });

  it('checks q=: known methods only, in the order given', () => {
    assert.deepEqual(parseSignature(withTag('q', 'private-exchange : dns/txt')).queryMethods, [
      'private-exchange',
      'dns/txt',
    ]);
    assert.equal(reasonOf(withTag('q', 'dns/txt:dns')), 'unsupported-query-method');
    assert.equal(reasonOf(withTag('q', 'DNS/TXT')), 'unsupported-query-method');
  });

  it('refuses an empty or undecodable b=, and a bh= that is not base64', () => {
    assert.equal(reasonOf(withTag('b', '')), 'malformed-signature');
    assert.equal(reasonOf(withTag('b', 'A*B=')), 'malformed-signature');
    assert.equal(reasonOf(withTag('bh', 'AAA')), 'malformed-signature');
    assert.equal(reasonOf(`${BASE};;`), 'malformed-signature', 'tag-list syntax');
  });
});
