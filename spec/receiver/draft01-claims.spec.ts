/**
 * Which requests may name bare Recipients: only one whose single DKIM-Signature says
 * `c=simple-http` with a `d=` among draft01Peers (the signature, verified later, bears it out).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimsDraft01, readRecipients } from '../../lib/receiver/request-headers.js';
import type { Headers } from '../support/fixtures.js';

const signed = (...signatures: string[]): Headers => signatures.map((s) => ['DKIM-Signature', s]);
const PEERS = ['davical.test', 'egw.example'];

describe('a request claims draft -01', () => {
  it('when c=simple-http and d= is a listed peer, wherever the tags stand and however spaced', () => {
    for (const signature of [
      'v=1; d=davical.test; c=simple-http; b=x',
      'c=simple-http; d=davical.test',
      'd=davical.test; c=simple-http',
      'v=1;c = simple-http ;d = davical.test ;b=x',
      'v=1; c=simple-http\t; d=\tdavical.test\t',
      'v=1; c=simple-http; d=DAVICAL.Test',
      'v=1; c=simple-http; d=davical.test.',
      'v=1; c=simple-http; d=cal.davical.test',
      'v=1; c=simple-http; d=egw.example',
    ]) {
      assert.equal(claimsDraft01(signed(signature), PEERS), true, signature);
    }
  });

  it('not without a listed peer, a d= tag, simple-http itself, or exactly one signature', () => {
    const good = 'v=1; c=simple-http; d=davical.test';
    assert.equal(claimsDraft01(signed(good), []), false, 'no peers listed');
    assert.equal(claimsDraft01(signed(good, good), PEERS), false, 'two signatures');
    assert.equal(claimsDraft01([], PEERS), false, 'none');
    for (const signature of [
      'v=1; c=simple-http; s=cal',
      'v=1; c=ischedule-relaxed/simple; d=davical.test',
      'v=1; c=simple-http/simple; d=davical.test',
      'v=1; xc=simple-http; d=davical.test',
      'v=1; c=simple-http; xd=davical.test',
      'v=1; c=simple-http; d=other.test',
      'v=1; c=simple-http; d=notdavical.test',
      'v=1; c=simple-http; d=davical.test.evil',
    ]) {
      assert.equal(claimsDraft01(signed(signature), PEERS), false, signature);
    }
  });
});

describe('bare Recipients', () => {
  const headers: Headers = [['Recipient', 'cyrus@example.org, mailto:mike@example.org']];

  it('are refused unless the request claims draft -01', () => {
    assert.throws(() => readRecipients(headers, 10), { code: 'recipient-invalid' });
    assert.throws(() => readRecipients(headers, 10, false), { code: 'recipient-invalid' });
  });

  it('are read as received for a draft -01 claim; still no address is no address', () => {
    assert.deepEqual(readRecipients(headers, 10, true), ['cyrus@example.org', 'mailto:mike@example.org']);
    assert.throws(() => readRecipients([['Recipient', 'not an address']], 10, true), {
      code: 'recipient-invalid',
    });
  });
});
