import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bodyHashMatches, canonicalBodyLength, cutSignatureValue } from '../../lib/dkim/canonicalize.js';
import {
  bodyHash,
  canonicalizeBody,
  canonicalizeHeader,
  canonicalizeHeaderValue,
  canonicalizeSignatureHeader,
  headerPairs,
  headerValues,
  signedData,
} from '../support/api.js';
import { fuzzRuns } from '../support/fuzz.js';

describe('ischedule-relaxed header canonicalization (draft -05 §5.4)', () => {
  it('reproduces the digest examples (spec §7.5)', () => {
    assert.equal(
      canonicalizeHeader('Recipient', ['  mailto:user02@example.com  ,\t mailto:user03@example.com\t\t  ']),
      'recipient:mailto:user02@example.com,mailto:user03@example.com\r\n',
    );
    assert.equal(
      canonicalizeHeader('Content-Type', [' text/calendar  ; charset =  "utf-8"  ']),
      'content-type:text/calendar ; charset = "utf-8"\r\n',
    );
  });

  it('merges same-name fields with commas, in received order', () => {
    assert.equal(
      canonicalizeHeader('RECIPIENT', [
        'mailto:cyrus@example.com, mailto:mike@example.com',
        ' mailto:ken@example.org',
      ]),
      'recipient:mailto:cyrus@example.com,mailto:mike@example.com,mailto:ken@example.org\r\n',
    );
  });

  it('unfolds continuation lines', () => {
    assert.equal(
      canonicalizeHeaderValue('text/calendar;\r\n\tcomponent=VEVENT'),
      'text/calendar; component=VEVENT',
    );
  });

  it('cuts only the value of b= from the DKIM-Signature, wherever it stands', () => {
    assert.equal(canonicalizeSignatureHeader('v=1; b=abc def; bh=xyz'), 'dkim-signature:v=1; b=; bh=xyz');
    assert.equal(canonicalizeSignatureHeader('v=1;bh=xyz;b=abc'), 'dkim-signature:v=1;bh=xyz;b=');
    assert.equal(canonicalizeSignatureHeader(' b = a\r\n b ; v=1'), 'dkim-signature:b = ; v=1');
  });

  it('cuts the tag named exactly b, never one whose name merely starts or ends with b', () => {
    assert.equal(canonicalizeSignatureHeader('xb=1; b=2'), 'dkim-signature:xb=1; b=');
    assert.equal(canonicalizeSignatureHeader('b_=1; bb=2; b=3; z=4'), 'dkim-signature:b_=1; bb=2; b=; z=4');
    assert.equal(canonicalizeSignatureHeader('z=a=b; b=c'), 'dkim-signature:z=a=b; b=');
    assert.equal(canonicalizeSignatureHeader('v=1; bh=abc'), 'dkim-signature:v=1; bh=abc', 'no b= at all');
    assert.equal(canonicalizeSignatureHeader('v=1; b=\t; x=1'), 'dkim-signature:v=1; b= ; x=1');
    assert.equal(
      canonicalizeSignatureHeader('v=1; b=abc ; x=1'),
      'dkim-signature:v=1; b= ; x=1',
      'the space after stays',
    );
    assert.equal(canonicalizeSignatureHeader(';b=abc'), 'dkim-signature:;b=', 'an empty first tag');
  });

  it('keeps folding whitespace on both sides of a cut b= value, CR and LF included', () => {
    assert.equal(cutSignatureValue('v=1; b=\r\n\tAAA\r\n\t; x=1'), 'v=1; b=\r\n\t\r\n\t; x=1');
    assert.equal(cutSignatureValue('v=1; b=\nAAA\r'), 'v=1; b=\n\r');
  });

  it('cuts where the tag grammar says the first b tag is, on any text', () => {
    // The rule as a regular expression: "b" at the start or after ";", FWS around it, then "=".
    const bTag = /(?:^|;)[ \t\r\n]*b[ \t\r\n]*=/;
    const reference = (text: string) => {
      const tag = bTag.exec(text);
      if (!tag) return text;
      const start = tag.index + tag[0].length;
      const end = text.indexOf(';', start) < 0 ? text.length : text.indexOf(';', start);
      const value = text.slice(start, end);
      const lead = value.length - value.trimStart().length;
      const trail = value.length - value.trimEnd().length;
      return lead + trail >= value.length ? text : text.slice(0, start + lead) + text.slice(end - trail);
    };
    const piece = fc.constantFrom('b', 'h', '=', ';', ' ', '\t', '\r', '\n', 'x', 'bh', 'b=');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const text = pieces.join('');
        assert.equal(cutSignatureValue(text), reference(text), JSON.stringify(text));
        return true;
      }),
      { numRuns: fuzzRuns(5000) },
    );
  });

  it('leaves a signature alone when its b tag has no "=" (a tag named like b, nothing cut)', () => {
    assert.equal(cutSignatureValue('v=1; bb'), 'v=1; bb');
    assert.equal(cutSignatureValue('v=1; b'), 'v=1; b');
  });

  it('gives nothing for an absent header, and an empty value for an empty one', () => {
    assert.equal(canonicalizeHeader('User-Agent', []), '');
    assert.equal(canonicalizeHeader('User-Agent', ['']), 'user-agent:\r\n');
  });

  it('reads Node rawHeaders as a header list, keeping duplicates and order', () => {
    assert.deepEqual(headerPairs(['Recipient', 'a', 'Host', 'h', 'recipient', 'b']), [
      ['Recipient', 'a'],
      ['Host', 'h'],
      ['recipient', 'b'],
    ]);
  });

  it('matches header names ignoring ASCII case only, as HTTP does', () => {
    const headers = headerPairs(['RECIPIENT', 'a', 'recipient', 'b', 'Recip\u0130ent', 'c', '\u212Aey', 'd']);
    assert.deepEqual(headerValues(headers, 'Recipient'), ['a', 'b']);
    // KELVIN SIGN lower-cases to "k" in Unicode, but a field named with it is no "Key" field.
    assert.deepEqual(headerValues(headers, 'Key'), []);
    assert.equal(signedData(headers, ['Key'], 'v=1; b=x'), 'dkim-signature:v=1; b=');
  });

  it('reads an h= list that can still change afresh each time (a frozen one is lower-cased once)', () => {
    const headers = headerPairs(['Originator', 'a', 'Recipient', 'b']);
    const names = ['Originator'];
    assert.equal(signedData(headers, names, 'v=1; b=x'), 'originator:a\r\ndkim-signature:v=1; b=');
    names[0] = 'Recipient';
    assert.equal(signedData(headers, names, 'v=1; b=x'), 'recipient:b\r\ndkim-signature:v=1; b=');
  });

  it('skips headers named in h= that are absent', () => {
    const data = signedData([['Originator', 'a']], ['Originator', 'User-Agent'], 'v=1; b=x');
    assert.equal(data, 'originator:a\r\ndkim-signature:v=1; b=');
  });

  it('is idempotent and never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (value) => {
        const once = canonicalizeHeaderValue(value);
        assert.equal(canonicalizeHeaderValue(once), once);
        const line = canonicalizeSignatureHeader(value);
        assert.equal(canonicalizeSignatureHeader(line.slice('dkim-signature:'.length)), line);
        return true;
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });

  it('rewrites exactly the values that are not canonical already, as the rules say', () => {
    // The rules, applied to every value: a quick test decides which values skip them, and one
    // it wrongly passes would come back unchanged (idempotence alone would not notice).
    const byTheRules = (value: string) =>
      value
        .replace(/[ \t\r\n]+/g, ' ')
        .replace(/^ | $/g, '')
        .replace(/ ?, ?/g, ',');
    const piece = fc.constantFrom(
      ' ',
      '  ',
      '\t',
      '\r',
      '\n',
      '\r\n ',
      ',',
      ', ',
      ' ,',
      'a',
      ';',
      '=',
      'b=x',
    );
    // Each way a value can fail to be canonical, alone (a few fuzzing runs may not meet one).
    for (const value of ['a ', ' a', 'a  b', 'a ,b', 'a, b', 'a\tb', 'a\rb', 'a\nb', 'a b,c', ''])
      assert.equal(canonicalizeHeaderValue(value), byTheRules(value), JSON.stringify(value));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }), (pieces) => {
        const value = pieces.join('');
        assert.equal(canonicalizeHeaderValue(value), byTheRules(value), JSON.stringify(value));
        return true;
      }),
      { numRuns: fuzzRuns(5000) },
    );
  });

  it('gives the same result for a list split over fields or joined in one', () => {
    const item = fc.stringMatching(/^[a-z:@.]{1,10}$/);
    const space = fc.stringMatching(/^[ \t]{0,3}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(space, item, space), { minLength: 1, maxLength: 5 }), (items) => {
        const values = items.map(([a, v, b]) => `${a}${v}${b}`);
        assert.equal(
          canonicalizeHeader('Recipient', values),
          canonicalizeHeader('Recipient', [values.join(' , ')]),
        );
        return true;
      }),
    );
  });
});

describe('simple body canonicalization (RFC 6376 §3.4.3)', () => {
  it('removes trailing empty lines and ends in exactly one CRLF', () => {
    assert.equal(canonicalizeBody(Buffer.from('A\r\n\r\n\r\n')).toString(), 'A\r\n');
    assert.equal(canonicalizeBody(Buffer.from('A')).toString(), 'A\r\n');
    assert.equal(canonicalizeBody(Buffer.from('')).toString(), '\r\n');
    assert.equal(canonicalizeBody(Buffer.from('A\n')).toString(), 'A\n\r\n');
  });
  it('takes only CRLF pairs as empty lines: a lone CR or LF at the end stays', () => {
    const cases: Array<[string, string]> = [
      ['A\r', 'A\r\r\n'],
      ['\rX', '\rX\r\n'],
      ['A\r\r\n', 'A\r\r\n'],
      ['A\n\r\n', 'A\n\r\n'],
      ['A\n\n', 'A\n\n\r\n'],
      ['\r\n\r\n', '\r\n'],
      ['A\r\nB\r\n\r\n', 'A\r\nB\r\n'],
    ];
    for (const [body, canonical] of cases) {
      assert.equal(
        canonicalizeBody(Buffer.from(body, 'latin1')).toString('latin1'),
        canonical,
        JSON.stringify(body),
      );
    }
  });
  /** The digest's base64 as another encoder may write it: URL-safe, the unused low bits set. */
  const spelledOtherwise = (digest: Buffer) => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const text = digest.toString('base64url');
    // SHA-1 and SHA-256 digests both leave two bits of the last character unused.
    const last = alphabet[alphabet.indexOf(text.at(-1) ?? '') | 3];
    return `${text.slice(0, -1)}${last}=`;
  };
  it('agrees with the rule itself on bodies made of CR, LF and text', () => {
    // The rule, written as a regex: strip every trailing CRLF pair, then end in one CRLF.
    const rule = (bytes: Uint8Array) =>
      Buffer.from(
        `${Buffer.from(bytes)
          .toString('latin1')
          .replace(/(?:\r\n)*$/, '')}\r\n`,
        'latin1',
      );
    const crlfHeavy = fc
      .array(fc.constantFrom(0x0d, 0x0a, 0x41), { maxLength: 12 })
      .map((b) => Uint8Array.from(b));
    fc.assert(
      fc.property(fc.oneof(crlfHeavy, fc.uint8Array({ maxLength: 40 })), (bytes) => {
        const canonical = rule(bytes);
        assert.deepEqual(canonicalizeBody(bytes), canonical);
        assert.equal(canonicalBodyLength(bytes), canonical.length, 'what an l= tag counts');
        for (const algorithm of ['sha1', 'sha256'] as const) {
          const digest = createHash(algorithm).update(canonical).digest();
          assert.equal(bodyHash(bytes, algorithm), digest.toString('base64'));
          assert.equal(bodyHashMatches(bytes, algorithm, digest.toString('base64')), true);
          assert.equal(bodyHashMatches(bytes, algorithm, spelledOtherwise(digest)), true, 'same octets');
          digest[0] = (digest[0] ?? 0) ^ 1;
          assert.equal(bodyHashMatches(bytes, algorithm, digest.toString('base64')), false);
          assert.equal(bodyHashMatches(bytes, algorithm, spelledOtherwise(digest)), false);
        }
        return true;
      }),
      { numRuns: fuzzRuns(500) },
    );
  });
  it('hashes the empty body as RFC 6376 says', () => {
    assert.equal(bodyHash(Buffer.alloc(0), 'sha256'), 'frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=');
  });
  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const once = canonicalizeBody(bytes);
        assert.deepEqual(canonicalizeBody(once), once);
        return true;
      }),
    );
  });
});
