import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { base64TagText, splitColonList } from '../../lib/dkim/tag-list.js';
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

  it('refuses an empty list, a name that does not start with a letter, and control characters', () => {
    for (const bad of [
      '',
      ' ',
      '\r\n',
      '_a=1',
      '9a=1',
      '[a=1',
      '{a=1',
      '~a=1',
      'a=1\u0000',
      'a=\u0001b',
      'a=b\u001f',
    ]) {
      assert.throws(() => parseTagList(bad), TagListError, JSON.stringify(bad));
    }
    assert.deepEqual(
      Object.fromEntries(parseTagList('Z=1; z=2')),
      { Z: '1', z: '2' },
      'names are case-sensitive',
    );
  });

  it('throws errors a caller can tell apart: code malformed-tag-list, name TagListError', () => {
    assert.throws(
      () => parseTagList('a=1; a=2'),
      (error: unknown) =>
        error instanceof TagListError && error.code === 'malformed-tag-list' && error.name === 'TagListError',
    );
  });

  it('answers any text with well-formed tags drawn from it, or a TagListError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        let tags: ReadonlyMap<string, string>;
        try {
          tags = parseTagList(text);
        } catch (error) {
          return error instanceof TagListError;
        }
        // What it accepts is a list of well-formed tags drawn from the text.
        assert.ok(tags.size > 0);
        for (const [name, value] of tags) {
          assert.match(name, /^[A-Za-z][A-Za-z0-9_]*$/);
          assert.match(value, /^(?:[!-:<-~](?:[!-:<-~ \t\r\n]*[!-:<-~])?)?$/);
          assert.ok(text.includes(value));
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

describe('parseTagList with base64 tags (values left to decodeBase64Tag)', () => {
  /** What a caller gets: the tags with b= decoded, or the fact that either step refused. */
  function decoded(text: string, base64Tags?: readonly string[]): string {
    try {
      const tags = parseTagList(text, base64Tags);
      const b = tags.get('b');
      return JSON.stringify([...tags, b === undefined ? null : decodeBase64Tag('b', b).toString('hex')]);
    } catch (error) {
      assert.ok(error instanceof TagListError);
      return 'refused';
    }
  }

  it('accepts and refuses exactly what the full check and the decoder refuse together', () => {
    const base64 = fc.stringMatching(/^[A-Za-z0-9+/]{0,12}={0,2}$/);
    const any = fc.string({ unit: 'binary', maxLength: 3 });
    const around = fc.constantFrom('', ' ', '\r\n ', '\t');
    fc.assert(
      fc.property(fc.tuple(base64, any, base64, around, around), ([left, odd, right, before, after]) => {
        const text = `v=1; b=${before}${left}${odd}${right}${after}; d=example.com`;
        assert.equal(decoded(text, ['b']), decoded(text), JSON.stringify(text));
        return true;
      }),
      { numRuns: fuzzRuns(3000) },
    );
  });

  it('still ends the value at its ";" and refuses a character outside VALCHAR once decoded', () => {
    assert.equal(parseTagList('b=aGVsbG8=; d=x', ['b']).get('b'), 'aGVsbG8=');
    assert.equal(parseTagList('b=aGVs bG8= \r\n ', ['b']).get('b'), 'aGVs bG8=');
    for (const odd of ['\u0000', '\u007f', 'é', '\u2028', '\u001f']) {
      const value = parseTagList(`b=aGVs${odd}bG8=`, ['b']).get('b') ?? '';
      assert.throws(() => decodeBase64Tag('b', value), TagListError, JSON.stringify(odd));
      assert.throws(() => parseTagList(`b=aGVs${odd}bG8=`), TagListError, JSON.stringify(odd));
    }
  });
});

describe('decodeBase64Tag', () => {
  it('ignores whitespace inside the value', () => {
    assert.equal(decodeBase64Tag('b', 'aGVs\r\n bG8=').toString(), 'hello');
  });
  it('ignores each kind of folding whitespace alone: space, tab, CR, LF', () => {
    for (const fws of [' ', '\t', '\r', '\n', '  ']) {
      assert.equal(decodeBase64Tag('bh', `aGVs${fws}bG8=`).toString(), 'hello', JSON.stringify(fws));
    }
  });
  it('refuses what is not base64', () => {
    for (const bad of ['abc', 'a*bc', '====', 'aGVsbG8=aGVs'])
      assert.throws(() => decodeBase64Tag('b', bad), TagListError);
  });
  it('refuses characters outside ASCII, even those node would decode by their low byte', () => {
    // U+65937 is the surrogate pair D955 DD37: "+\u{65937}=" would decode as "+U7=".
    for (const bad of ['+\u{65937}=', 'aGVs\u0162G8=', 'aGVsbG8\u013d', 'aGVs\u00e9G8='])
      assert.throws(() => decodeBase64Tag('b', bad), TagListError, JSON.stringify(bad));
  });
});

describe('base64TagText (bh=, checked and compared as text)', () => {
  /** The octets a value stands for, or 'refused'. */
  const outcome = (read: () => Buffer) => {
    try {
      return read().toString('hex');
    } catch (error) {
      assert.ok(error instanceof TagListError);
      return 'refused';
    }
  };

  it('refuses exactly what decodeBase64Tag refuses, and its text decodes to the same octets', () => {
    const alphabet = fc.constantFrom(...'ABZaz09+/-_'.split(''));
    const odd = fc.oneof(
      fc.constantFrom('=', '==', '===', ' ', '\r\n ', '\t', '.', '*', 'é', '\u0162', '\u{65937}', '\u0000'),
      fc.string({ unit: 'binary', maxLength: 2 }),
    );
    const piece = fc.oneof({ weight: 4, arbitrary: alphabet }, { weight: 1, arbitrary: odd });
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), (pieces) => {
        const value = pieces.join('');
        const text = outcome(() => Buffer.from(base64TagText('bh', value), 'base64'));
        assert.equal(
          text,
          outcome(() => decodeBase64Tag('bh', value)),
          JSON.stringify(value),
        );
        return true;
      }),
      { numRuns: fuzzRuns(5000) },
    );
  });

  it('gives the value as it stands, or without the whitespace inside it', () => {
    assert.equal(base64TagText('bh', 'aGVsbG8='), 'aGVsbG8=');
    assert.equal(base64TagText('bh', 'aGVs\r\n\tbG8='), 'aGVsbG8=');
    assert.equal(base64TagText('bh', 'aGVs-_8='), 'aGVs-_8=', 'the URL-safe alphabet, which Node decodes');
    for (const bad of ['abc', 'a*bc', '====', 'aGVsbG8=aGVs', 'aGVs\u0162G8=', '\u00a0'])
      assert.throws(() => base64TagText('bh', bad), TagListError, JSON.stringify(bad));
  });
});

describe('splitColonList', () => {
  it('splits h=, q= and s= lists on ":" and trims folding whitespace of each kind around items', () => {
    assert.deepEqual(splitColonList('Originator:Recipient'), ['Originator', 'Recipient']);
    for (const fws of [' ', '\t', '\r\n ', '  ']) {
      assert.deepEqual(
        splitColonList(`${fws}Originator${fws}:${fws}Recipient${fws}`),
        ['Originator', 'Recipient'],
        JSON.stringify(fws),
      );
    }
    assert.deepEqual(
      splitColonList(' dns/txt : x y '),
      ['dns/txt', 'x y'],
      'whitespace inside an item stays',
    );
  });
});
