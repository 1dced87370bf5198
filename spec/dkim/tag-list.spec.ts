import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeBase64Tag, parseTagList, TagListError } from '../support/api.js';
import { fuzzRuns } from '../support/fuzz.js';

describe('parseTagList (RFC 6376 §3.2)', () => {
  it('reads tags with folding whitespace around names, values and separators', () => {
    const tags = parseTagList(' v = 1 ;\r\n\ta=rsa-sha256;  h = Originator : Recipient ; b=ab cd\r\n ef ;');
    assert.deepEqual(Object.fromEntries(tags), {
      v: '1',
      a: 'rsa-sha256',
      h: 'Originator : Recipient',
      b: 'ab cd\r\n ef',
    });
  });

  it('keeps unknown tags (callers ignore them) and allows empty values', () => {
    const tags = parseTagList('v=DKIM1; zz_9=whatever; p=');
    assert.equal(tags.get('zz_9'), 'whatever');
    assert.equal(tags.get('p'), '');
  });

  it('refuses duplicates, bad names, missing "=", stray separators and non-ASCII values', () => {
    for (const bad of ['a=1; a=2', '1a=2', 'a', 'a=1;;b=2', ';a=1', 'a=é', 'a=1; =2', 'a=b c;d e=f']) {
      assert.throws(() => parseTagList(bad), TagListError, bad);
    }
  });

  it('never throws anything but a TagListError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        try {
          parseTagList(text);
        } catch (error) {
          return error instanceof TagListError;
        }
        return true;
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });

  it('parses back what it would accept: name=value pairs joined by "; "', () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,6}$/);
    const value = fc.stringMatching(/^[!-:<-~]{0,12}$/);
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, value), { selector: ([n]) => n, maxLength: 8 }), (pairs) => {
        if (pairs.length === 0) return true;
        const parsed = parseTagList(pairs.map(([n, v]) => `${n}=${v}`).join('; '));
        assert.deepEqual(Object.fromEntries(parsed), Object.fromEntries(pairs));
        return true;
      }),
    );
  });
});

describe('decodeBase64Tag', () => {
  it('ignores whitespace inside the value', () => {
    assert.equal(decodeBase64Tag('b', 'aGVs\r\n bG8=').toString(), 'hello');
  });
  it('refuses what is not base64', () => {
    for (const bad of ['abc', 'a*bc', '====', 'aGVsbG8=aGVs'])
      assert.throws(() => decodeBase64Tag('b', bad), TagListError);
  });
});
