/**
 * What verification decides at its edges: an l= covering exactly the body, key methods the
 * receiver did not enable, header octets beyond ASCII, and a key the crypto layer cannot use.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createSecretKey, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { bodyHash, canonicalBodyLength, signedData } from '../../lib/dkim/canonicalize.js';
import { parseSignature } from '../../lib/dkim/signature.js';
import { checkSignatureValue, checkSignatureValueOffThread, verifyWith } from '../../lib/dkim/verify.js';
import {
  type KeyQuery,
  type KeyResolver,
  keyRecord,
  privateExchangeKeys,
  signRequest,
  VerificationError,
  verifyRequest,
} from '../support/api.js';
import { draftHeaders, fixture, keys, testKeyRecords, testKeyResolver } from '../support/fixtures.js';
import { rejectionReason } from '../support/outcome.js';
import { signWithTags } from '../support/sign-raw.js';

const body = fixture('draft/a1-request.ics');
const T = Math.floor(Date.now() / 1000);

const reasonOf = rejectionReason;

describe('l= (body length)', () => {
  const withLength = (l: number, sent = body) => {
    const headers = draftHeaders();
    const signature = signWithTags(headers, body, keys.jupiter, { t: T, x: T + 300, l });
    return verifyRequest({
      headers: [...headers, ['DKIM-Signature', signature]],
      body: sent,
      keys: testKeyResolver(),
    });
  };

  it('accepts an l= that covers exactly the whole canonical body', async () => {
    const verified = await withLength(canonicalBodyLength(body));
    assert.equal(verified.domain, 'example.com');
  });

  it('refuses an l= one octet short, and any body longer than l= says', async () => {
    assert.equal(await reasonOf(withLength(canonicalBodyLength(body) - 1)), 'body-length-limit');
    const longer = Buffer.concat([body, Buffer.from('X-APPENDED:1\r\n')]);
    assert.equal(await reasonOf(withLength(canonicalBodyLength(body), longer)), 'body-length-limit');
  });
});

describe('bh= as another signer may write it', () => {
  /** A signature whose bh= text the test writes (folded, another alphabet), signed as written. */
  const signWithBodyHash = (bh: string) => {
    const headers = draftHeaders();
    const names = ['Originator', 'Recipient', 'Content-Type', 'iSchedule-Version'];
    const unsigned =
      `v=1; d=example.com; s=jupiter; t=${T}; x=${T + 300}; a=rsa-sha256; q=dns/txt; ` +
      `c=ischedule-relaxed/simple; h=${names.join(':')}; bh=${bh}; b=`;
    const data = Buffer.from(signedData(headers, names, unsigned), 'latin1');
    const b = sign('sha256', data, createPrivateKey(keys.jupiter.privateKey)).toString('base64');
    return verifyRequest({
      headers: [...headers, ['DKIM-Signature', unsigned + b]],
      body,
      keys: testKeyResolver(),
    });
  };
  const digest = bodyHash(body, 'sha256');

  it('verifies bh= folded across lines, in the URL-safe alphabet, or with its unused bits set', async () => {
    const folded = `${digest.slice(0, 20)}\r\n ${digest.slice(20, 30)}\t${digest.slice(30)}`;
    const urlSafe = Buffer.from(digest, 'base64').toString('base64url');
    // A SHA-256 digest leaves two bits of its last base64 character unused: set them.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const unusedBits = `${digest.slice(0, -2)}${alphabet[alphabet.indexOf(digest.at(-2) ?? '') | 3]}=`;
    assert.notEqual(unusedBits, digest);
    for (const bh of [folded, `${urlSafe}=`, unusedBits]) {
      assert.equal((await signWithBodyHash(bh)).domain, 'example.com', JSON.stringify(bh));
    }
  });

  it('refuses a folded bh= of another body, and one that is not base64', async () => {
    const other = bodyHash(Buffer.from('BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n'), 'sha256');
    assert.equal(
      await reasonOf(signWithBodyHash(`${other.slice(0, 20)}\r\n ${other.slice(20)}`)),
      'body-hash-mismatch',
    );
    assert.equal(
      await reasonOf(signWithBodyHash(`${digest.slice(0, 20)}*${digest.slice(21)}`)),
      'malformed-signature',
    );
  });
});

describe('key query methods', () => {
  it('never looks up a key by a method the receiver did not enable, even one q= names', async () => {
    const asked: string[] = [];
    const record = keyRecord(keys.jupiter.privateKey);
    // A resolver that would answer for any method, and says it serves only private exchange.
    const permissive: KeyResolver = {
      methods: ['private-exchange'],
      cached: (query: KeyQuery) => {
        asked.push(`cached ${query.method}`);
        return [record];
      },
      lookup: async (query: KeyQuery) => {
        asked.push(`lookup ${query.method}`);
        return [record];
      },
    };
    const headers = draftHeaders();
    const signature = signRequest({
      headers,
      body,
      key: keys.jupiter,
      queryMethods: ['dns/txt', 'http/well-known'],
    });
    const reason = await reasonOf(
      verifyRequest({ headers: [...headers, ['DKIM-Signature', signature]], body, keys: permissive }),
    );
    assert.equal(reason, 'no-key');
    assert.deepEqual(asked, []);
  });
});

describe('signed header values beyond ASCII', () => {
  // Node hands header values over as latin1 strings: one character per octet received.
  const utf8AsReceived = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

  it('verifies the octets as received, and notices a change to any of them', async () => {
    // On this thread (its reused buffer, or a buffer of its own past 4 KiB) and on the worker.
    const ways: Array<[string, number, boolean]> = [
      ['this thread', 0, false],
      ['this thread, past the reused buffer', 5000, false],
      ['the worker', 0, true],
    ];
    for (const [way, padding, offload] of ways) {
      const headers: Array<[string, string]> = [
        ...draftHeaders(),
        ['User-Agent', utf8AsReceived(`Kalender für Zürich ☃${' x'.repeat(padding / 2)}`)],
      ];
      const signature = signRequest({ headers, body, key: keys.jupiter });
      const signed: Array<[string, string]> = [...headers, ['DKIM-Signature', signature]];
      const verify = (list: Array<[string, string]>) =>
        verifyWith({ headers: list, body, keys: testKeyResolver() }, undefined, offload);
      const verified = await verify(signed);
      assert.ok(verified.signedHeaders.includes('User-Agent'), way);
      const changed = signed.map(([name, value]): [string, string] =>
        name === 'User-Agent' ? [name, value.replace('\u00bc', '\u00bd')] : [name, value],
      );
      assert.equal(await reasonOf(verify(changed)), 'signature-mismatch', way);
    }
  });
});

describe('a key the crypto layer refuses', () => {
  it('is a signature mismatch on either thread, never a crash and never a pass', async () => {
    const headers = draftHeaders();
    const signature = signRequest({ headers, body, key: keys.jupiter });
    const parsed = parseSignature(signature, { allowSha1: false });
    const unusable = createSecretKey(Buffer.alloc(32));
    const isMismatch = (error: unknown) =>
      error instanceof VerificationError && error.reason === 'signature-mismatch';
    assert.throws(() => checkSignatureValue(parsed, Buffer.from('data'), unusable), isMismatch);
    await assert.rejects(checkSignatureValueOffThread(parsed, Buffer.from('data'), unusable), isMismatch);
  });
});

describe('signed data of any length', () => {
  it('verifies signed headers longer than the buffer reused for the signed data (4 KiB)', async () => {
    for (const length of [100, 4000, 5000, 20_000]) {
      const headers = draftHeaders();
      headers.push(['User-Agent', 'u'.repeat(length)]);
      const signature = signRequest({ headers, body, key: keys.jupiter });
      const signed: Array<[string, string]> = [...headers, ['DKIM-Signature', signature]];
      const verified = await verifyRequest({ headers: signed, body, keys: testKeyResolver() });
      assert.ok(verified.signedHeaders.includes('User-Agent'), String(length));
      signed[signed.length - 2] = ['User-Agent', `${'u'.repeat(length - 1)}v`];
      assert.equal(
        await reasonOf(verifyRequest({ headers: signed, body, keys: testKeyResolver() })),
        'signature-mismatch',
        `a change at the end of ${length} octets`,
      );
    }
  });
});

describe('verifications at once', () => {
  it('each verifies its own octets, key waited for or held, on this thread or the worker', async () => {
    // jupiter's key is held (no await before its verification); venus's is waited for, so its
    // verifications finish while jupiter's run: the signed data of one must never be another's.
    const exchange = privateExchangeKeys(testKeyRecords());
    const resolver: KeyResolver = {
      methods: ['private-exchange'],
      cached: (query) => (query.selector === 'jupiter' ? exchange.cached?.(query) : undefined),
      lookup: async (query) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return exchange.lookup(query);
      },
    };
    const request = (key: typeof keys.jupiter, tampered: boolean, offload: boolean) => {
      const headers = draftHeaders();
      const signature = signRequest({ headers, body, key, queryMethods: ['private-exchange'] });
      if (tampered) headers.push(['Recipient', 'mailto:mallory@example.org']);
      return verifyWith(
        { headers: [...headers, ['DKIM-Signature', signature]], body, keys: resolver },
        undefined,
        offload,
      );
    };
    const cases = [false, true].flatMap((offload) =>
      [keys.venus, keys.jupiter].flatMap((key) =>
        [false, true, false, true, false].map((tampered) => ({ key, tampered, offload })),
      ),
    );
    const outcomes = await Promise.all(
      cases.map(({ key, tampered, offload }) =>
        request(key, tampered, offload).then(
          (verified) => verified.domain,
          (error: unknown) => (error instanceof VerificationError ? error.reason : 'crash'),
        ),
      ),
    );
    assert.deepEqual(
      outcomes,
      cases.map(({ key, tampered }) => (tampered ? 'signature-mismatch' : key.domain)),
    );
  });
});
