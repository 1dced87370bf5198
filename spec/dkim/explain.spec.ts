import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainVerification, parseWireRequest, privateExchangeKeys, signRequest } from '../support/api.js';
import { draftHeaders, fixture, keys, testKeyRecords, testKeyResolver } from '../support/fixtures.js';

const body = fixture('draft/a1-request.ics');

describe('explainVerification', () => {
  it('lists every check as passed for a good request, with the signed data', async () => {
    const headers = draftHeaders();
    headers.push(['DKIM-Signature', signRequest({ headers, body, key: keys.jupiter })]);
    const result = await explainVerification({ headers, body, keys: testKeyResolver() });
    assert.equal(result.verified, true);
    assert.deepEqual(
      result.checks.map((c) => [c.name, c.ok]),
      [
        ['DKIM-Signature', true],
        ['tags', true],
        ['time', true],
        ['body hash', true],
        ['key', true],
        ['signature', true],
      ],
    );
    assert.match(result.signedData ?? '', /^originator:mailto:bernard@example\.com\r\n/);
  });

  it('stops at the first failure, says why, and marks the rest not checked', async () => {
    const none = await explainVerification({ headers: draftHeaders(), body, keys: testKeyResolver() });
    assert.deepEqual(none.checks[0], {
      name: 'DKIM-Signature',
      ok: false,
      detail: 'no-signature: the request has no DKIM-Signature header',
    });
    assert.ok(none.checks.slice(1).every((c) => c.ok === undefined));
    const headers = draftHeaders();
    headers.push([
      'DKIM-Signature',
      signRequest({ headers, body, key: keys.jupiter, queryMethods: ['private-exchange'] }),
    ]);
    const noKey = await explainVerification({ headers, body, keys: privateExchangeKeys({}) });
    const key = noKey.checks.find((c) => c.name === 'key');
    assert.equal(key?.ok, false);
    assert.match(key?.detail ?? '', /^no-key: no key record at jupiter\._domainkey\.example\.com/);
    const known = await explainVerification({ headers, body, keys: privateExchangeKeys(testKeyRecords()) });
    assert.equal(known.verified, true);
  });
});

describe('parseWireRequest', () => {
  it('reads the request line, folded headers in order, and the exact body', () => {
    const raw = Buffer.from(
      'POST /isched HTTP/1.1\r\nRecipient: a\r\nContent-Type: text/calendar;\r\n component=VEVENT\r\nrecipient:b\r\n\r\nBODY\r\n\r\n',
    );
    const request = parseWireRequest(raw);
    assert.equal(request.method, 'POST');
    assert.equal(request.target, '/isched');
    assert.deepEqual(request.headers, [
      ['Recipient', 'a'],
      ['Content-Type', 'text/calendar;\r\n component=VEVENT'],
      ['recipient', 'b'],
    ]);
    assert.equal(request.body.toString(), 'BODY\r\n\r\n');
  });

  it('accepts LF-only captures and refuses what is not an HTTP request', () => {
    assert.equal(parseWireRequest(Buffer.from('POST / HTTP/1.1\nA: b\n\nx')).body.toString(), 'x');
    assert.throws(() => parseWireRequest(Buffer.from('POST / HTTP/1.1\r\nA: b\r\n')), /no blank line/);
    assert.throws(() => parseWireRequest(Buffer.from('hello world\r\n\r\n')), /not an HTTP request line/);
    assert.throws(
      () => parseWireRequest(Buffer.from('POST / HTTP/1.1\r\nno colon here\r\n\r\n')),
      /not a header line/,
    );
  });
});
