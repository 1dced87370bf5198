import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dnsTxtRecord,
  generateSigningKey,
  parseTagList,
  privateExchangeKeys,
  signRequest,
  verifyRequest,
  wellKnownBody,
} from '../support/api.js';
import { draftHeaders, fixture } from '../support/fixtures.js';

describe('key tooling', () => {
  for (const type of ['rsa', 'ed25519'] as const) {
    it(`generates an ${type} key whose published record verifies its signatures`, async () => {
      const pair = generateSigningKey({ type });
      assert.match(pair.privateKey, /BEGIN PRIVATE KEY/);
      const tags = parseTagList(pair.record);
      assert.equal(tags.get('v'), 'DKIM1');
      assert.equal(tags.get('k'), type);
      assert.equal(tags.get('s'), 'ischedule');
      const body = fixture('draft/a1-request.ics');
      const headers = draftHeaders();
      const signature = signRequest({
        headers,
        body,
        key: { domain: 'example.com', selector: 'new', privateKey: pair.privateKey },
        algorithm: type === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256',
        queryMethods: ['private-exchange'],
      });
      const txt = dnsTxtRecord('example.com', 'new', pair.record);
      const published = txt.strings.join('');
      const verified = await verifyRequest({
        headers: [...headers, ['DKIM-Signature', signature]],
        body,
        keys: privateExchangeKeys({ 'new._domainkey.example.com': published }),
      });
      assert.equal(verified.selector, 'new');
    });
  }

  it('splits the DNS TXT record into strings of at most 255 octets for zone files', () => {
    const pair = generateSigningKey({ bits: 4096 });
    const txt = dnsTxtRecord('example.com.', 'cal2026', pair.record, 3600);
    assert.equal(txt.name, 'cal2026._domainkey.example.com.');
    assert.ok(txt.strings.length >= 3);
    for (const s of txt.strings) assert.ok(Buffer.byteLength(s) <= 255);
    assert.equal(txt.strings.join(''), pair.record);
    assert.match(
      txt.zoneLine,
      /^cal2026\._domainkey\.example\.com\. 3600 IN TXT \( "v=DKIM1; k=rsa; s=ischedule; p=[^"]+" "[^"]+"/,
    );
  });

  it('writes the well-known body with one record per CRLF-terminated line', () => {
    assert.equal(wellKnownBody(['v=DKIM1; p=A', 'v=DKIM1; p=B']), 'v=DKIM1; p=A\r\nv=DKIM1; p=B\r\n');
  });
});
