import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chainKeys,
  keyRecord,
  parseTagList,
  privateExchangeKeys,
  signRequest,
  VerificationError,
  type VerificationFailure,
  verifyRequest,
} from '../support/api.js';
import {
  draftHeaders,
  fixture,
  type Headers,
  keys,
  testKeyRecords,
  testKeyResolver,
} from '../support/fixtures.js';

const T = 1_700_000_000;
const resolver = testKeyResolver();

function signed(headers: Headers, body: Buffer, key = keys.jupiter, extra: object = {}): Headers {
  const value = signRequest({ headers, body, key, timestamp: T, ...extra });
  return [['DKIM-Signature', value], ...headers];
}

async function reasonOf(promise: Promise<unknown>): Promise<VerificationFailure> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof VerificationError, String(error));
    assert.equal(error.code, 'verification-failed');
    assert.equal(error.status, 403);
    return error.reason;
  }
  return assert.fail('verification should have failed');
}

const verify = (headers: Headers, body: Buffer | string, extra: object = {}) =>
  verifyRequest({ headers, body, keys: resolver, now: T + 10, ...extra });

describe('the draft examples (Appendix A)', () => {
  const examples = [
    { name: 'A.1 invitation', file: 'draft/a1-request.ics', headers: draftHeaders() },
    {
      name: 'A.2 busy-time search',
      file: 'draft/a2-freebusy.ics',
      headers: draftHeaders({
        component: 'VFREEBUSY',
        recipients: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
        messageId: 'A98ADF24-9490-4F01-81C8-FE924F86A9FD',
      }),
    },
    { name: 'A.3 VTODO', file: 'draft/a3-vtodo.ics', headers: draftHeaders({ component: 'VTODO' }) },
  ];
  for (const example of examples) {
    it(`${example.name}: signed and verified`, async () => {
      const body = fixture(example.file);
      const headers = signed(example.headers, body);
      const tags = parseTagList(headers[0]![1]);
      assert.equal(tags.get('v'), '1');
      assert.equal(tags.get('a'), 'rsa-sha256');
      assert.equal(tags.get('c'), 'ischedule-relaxed/simple');
      assert.equal(tags.get('q'), 'dns/txt:http/well-known');
      assert.equal(tags.get('x'), String(T + 300));
      assert.equal(tags.get('h'), 'Originator:Recipient:Content-Type:iSchedule-Version:iSchedule-Message-ID');
      const verified = await verify(headers, body);
      assert.deepEqual(
        {
          domain: verified.domain,
          selector: verified.selector,
          algorithm: verified.algorithm,
          expiresAt: verified.expiresAt,
        },
        { domain: 'example.com', selector: 'jupiter', algorithm: 'rsa-sha256', expiresAt: T + 300 },
      );
      assert.equal(verified.keyMethod, 'dns/txt');
    });
  }
});

describe('signRequest', () => {
  const body = fixture('draft/a1-request.ics');

  it('round-trips ed25519-sha256 (RFC 8463)', async () => {
    const headers = signed(draftHeaders(), body, keys.mars, { algorithm: 'ed25519-sha256' });
    assert.match(headers[0]![1], /a=ed25519-sha256/);
    const verified = await verify(headers, body);
    assert.equal(verified.algorithm, 'ed25519-sha256');
  });

  it('signs User-Agent and Authorization when present, never an absent header', () => {
    const headers: Headers = [...draftHeaders(), ['User-Agent', 'test/1'], ['Authorization', 'Bearer x']];
    const h = parseTagList(signRequest({ headers, body, key: keys.jupiter })).get('h');
    assert.equal(
      h,
      'Originator:Recipient:Authorization:Content-Type:User-Agent:iSchedule-Version:iSchedule-Message-ID',
    );
    const minimal = draftHeaders().filter(([name]) => name !== 'iSchedule-Message-ID');
    assert.equal(
      parseTagList(signRequest({ headers: minimal, body, key: keys.jupiter })).get('h'),
      'Originator:Recipient:Content-Type:iSchedule-Version',
    );
  });

  it('defaults t= to now and x= to t+300, and honours expiresIn and queryMethods', () => {
    const before = Math.floor(Date.now() / 1000);
    const tags = parseTagList(
      signRequest({
        headers: draftHeaders(),
        body,
        key: keys.jupiter,
        expiresIn: 3600,
        queryMethods: ['private-exchange'],
      }),
    );
    const t = Number(tags.get('t'));
    assert.ok(t >= before && t <= before + 2);
    assert.equal(Number(tags.get('x')), t + 3600);
    assert.equal(tags.get('q'), 'private-exchange');
  });

  it('refuses to sign without a MUST-sign header, or with a weak or mismatched key', () => {
    const noVersion = draftHeaders().filter(([name]) => name !== 'iSchedule-Version');
    assert.throws(() => signRequest({ headers: noVersion, body, key: keys.jupiter }), /ischedule-version/);
    const weak = { ...keys.jupiter, privateKey: fixture('keys/weak-512.rsa.pem').toString() };
    assert.throws(() => signRequest({ headers: draftHeaders(), body, key: weak }), /512 bits/);
    assert.throws(
      () => signRequest({ headers: draftHeaders(), body, key: keys.mars }),
      /the signing key mars\._domainkey\.example\.com is an ed25519 key; a=rsa-sha256 needs an rsa key/,
    );
    assert.throws(
      () =>
        signRequest({
          headers: draftHeaders(),
          body,
          key: keys.jupiter,
          signedHeaders: ['Originator', 'Recipient'],
        }),
      /content-type must be signed/,
    );
  });
});

describe('verifyRequest', () => {
  const body = fixture('draft/a1-request.ics');
  const good = () => signed(draftHeaders(), body);

  it('fails on tampering with any signed header', async () => {
    for (const name of [
      'Originator',
      'Recipient',
      'Content-Type',
      'iSchedule-Version',
      'iSchedule-Message-ID',
    ]) {
      const headers = good().map(([n, v]): [string, string] => [n, n === name ? `${v}x` : v]);
      assert.equal(await reasonOf(verify(headers, body)), 'signature-mismatch', name);
    }
  });

  it('ignores changes to unsigned headers (Host, Cache-Control, Via)', async () => {
    const unsigned: Record<string, string> = { Host: 'other.example.net', 'Cache-Control': 'max-age=0' };
    const headers = good().map(([n, v]): [string, string] => [n, unsigned[n] ?? v]);
    assert.ok(headers.some(([n, v]) => n === 'Cache-Control' && v === 'max-age=0'));
    headers.push(['Via', '1.1 proxy']);
    const verified = await verify(headers, body);
    assert.equal(verified.domain, 'example.com');
    assert.ok(!verified.signedHeaders.some((h) => /^(host|cache-control|via)$/i.test(h)));
  });

  it('fails when the body changes, but not for added trailing empty lines', async () => {
    assert.equal(
      await reasonOf(verify(good(), Buffer.concat([body, Buffer.from('X')]))),
      'body-hash-mismatch',
    );
    assert.equal(
      await reasonOf(verify(good(), Buffer.concat([body, Buffer.from('\n')]))),
      'body-hash-mismatch',
    );
    await verify(good(), Buffer.concat([body, Buffer.from('\r\n\r\n')]));
    // Without its final CRLF the canonical body is the same (simple canonicalization adds one).
    await verify(good(), body.subarray(0, body.length - 2));
  });

  it('answers the same for the same tags on every request (what it remembers changes nothing)', async () => {
    const twice = (pattern: RegExp, replacement: string) =>
      good().map(([n, v]): [string, string] => [
        n,
        n === 'DKIM-Signature' ? v.replace(pattern, replacement) : v,
      ]);
    for (let round = 0; round < 3; round++) {
      await verify(good(), body);
      assert.equal(
        await reasonOf(verify(twice(/h=Originator:/, 'h=Originator:Originator:'), body)),
        'duplicate-signed-header',
      );
      assert.equal(
        await reasonOf(verify(twice(/d=example\.com/, 'd=exa mple.com'), body)),
        'malformed-signature',
      );
      assert.equal(
        await reasonOf(verify(twice(/q=[^;]+/, 'q=dns/txt:carrier-pigeon'), body)),
        'unsupported-query-method',
      );
      assert.equal(await reasonOf(verify(twice(/s=jupiter/, 's=-x-'), body)), 'malformed-signature');
    }
  });

  it('fails when a tag is changed, each with its own reason', async () => {
    const cases: Array<[RegExp, string, VerificationFailure]> = [
      [/d=example\.com/, 'd=example.net', 'no-key'],
      [/s=jupiter/, 's=saturn', 'no-key'],
      [/t=\d+/, `t=${T - 1}`, 'signature-mismatch'],
      [/x=\d+/, `x=${T + 9999}`, 'signature-mismatch'],
      [/x=\d+/, `x=${T + 5}`, 'expired'],
      [/t=\d+; x=\d+/, `t=${T + 1000}; x=${T + 2000}`, 'signed-in-future'],
      [/t=\d+; x=\d+/, `t=${T}; x=${T - 1}`, 'malformed-signature'],
      [/v=1/, 'v=2', 'unsupported-version'],
      [/a=rsa-sha256/, 'a=rsa-sha512', 'unsupported-algorithm'],
      [/c=ischedule-relaxed\/simple/, 'c=relaxed/relaxed', 'unsupported-canonicalization'],
      [/c=ischedule-relaxed\/simple/, 'c=ischedule-relaxed', 'signature-mismatch'],
      [/q=[^;]+/, 'q=dns/txt:carrier-pigeon', 'unsupported-query-method'],
      [/q=[^;]+/, 'q=dns/txt', 'signature-mismatch'],
      [/h=Originator:/, 'h=', 'required-header-unsigned'],
      [/h=Originator:/, 'h=Originator:Originator:', 'duplicate-signed-header'],
      [/bh=[^;]+/, 'bh=AAAA', 'body-hash-mismatch'],
      [/bh=[^;]+/, 'bh=@@@', 'malformed-signature'],
      [/; b=/, '; b=; b=', 'malformed-signature'],
      [/v=1; /, '', 'missing-tag'],
      [/v=1;/, 'v=1;;', 'malformed-signature'],
    ];
    for (const [pattern, replacement, reason] of cases) {
      const headers = good().map(([n, v]): [string, string] => [
        n,
        n === 'DKIM-Signature' ? v.replace(pattern, replacement) : v,
      ]);
      assert.equal(await reasonOf(verify(headers, body)), reason, `${pattern} -> ${replacement}`);
    }
  });

  it('refuses a missing, doubled or short-length signature', async () => {
    assert.equal(await reasonOf(verify(draftHeaders(), body)), 'no-signature');
    const headers = good();
    assert.equal(await reasonOf(verify([...headers, headers[0]!], body)), 'multiple-signatures');
    const limited = signed(draftHeaders(), body);
    limited[0]![1] = limited[0]![1].replace('; b=', '; l=10; b=');
    assert.equal(await reasonOf(verify(limited, body)), 'body-length-limit');
  });

  it('honours the clock-skew allowance', async () => {
    const headers = signed(draftHeaders(), body);
    assert.equal(await reasonOf(verify(headers, body, { now: T - 301 })), 'signed-in-future');
    await verify(headers, body, { now: T - 300 });
    await verify(headers, body, { now: T - 600, clockSkew: 600 });
    await verify(headers, body, { now: T + 300 });
    assert.equal(await reasonOf(verify(headers, body, { now: T + 301 })), 'expired');
  });

  it('verifies headers received in any order, folded, or split across several fields', async () => {
    const headers = signed(
      draftHeaders({ recipients: ['mailto:cyrus@example.org', 'mailto:mike@example.org'] }),
      body,
    );
    // Different names in any order; same-name fields keep their relative order.
    await verify(
      [...headers].sort(([a], [b]) => a.localeCompare(b)),
      body,
    );
    const folded = headers.map(([n, v]): [string, string] => [
      n,
      n === 'Content-Type' ? v.replace('; ', ';\r\n\t') : v,
    ]);
    await verify(folded, body);
    const merged = headers.filter(([n]) => n !== 'Recipient');
    merged.push(['recipient', ' mailto:cyrus@example.org ,  mailto:mike@example.org ']);
    await verify(merged, body);
    const swapped = headers.filter(([n]) => n !== 'Recipient');
    swapped.push(['Recipient', 'mailto:mike@example.org'], ['Recipient', 'mailto:cyrus@example.org']);
    assert.equal(await reasonOf(verify(swapped, body)), 'signature-mismatch');
  });

  it('reports revoked, unusable and missing keys precisely', async () => {
    const headers = signed(draftHeaders(), body, keys.jupiter, { queryMethods: ['private-exchange'] });
    const withRecords = (records: string[]) =>
      verifyRequest({
        headers,
        body,
        now: T,
        keys: privateExchangeKeys({ 'jupiter._domainkey.example.com': records }),
      });
    assert.equal(await reasonOf(withRecords(['v=DKIM1; p='])), 'key-revoked');
    assert.equal(await reasonOf(withRecords(['v=DKIM1; s=email; p=AAAA'])), 'key-unusable');
    assert.equal(await reasonOf(withRecords(['v=DKIM1; k=ed25519; p=AAAA'])), 'key-unusable');
    assert.equal(await reasonOf(withRecords([keyRecord(fixture('keys/weak-512.rsa.pem'))])), 'key-unusable');
    assert.equal(await reasonOf(withRecords(['v=DKIM1; p=not base64!'])), 'key-unusable');
    assert.equal(await reasonOf(withRecords([])), 'no-key');
    assert.equal(await reasonOf(withRecords([keyRecord(keys.venus.privateKey)])), 'signature-mismatch');
  });

  it('tries key methods in q= order and reports lookups that failed', async () => {
    const calls: string[] = [];
    const broken = {
      methods: ['dns/txt'] as const,
      async lookup() {
        calls.push('dns/txt');
        throw new Error('resolver down');
      },
    };
    const headers = signed(draftHeaders(), body, keys.jupiter, {
      queryMethods: ['dns/txt', 'private-exchange'],
    });
    const chained = chainKeys(broken, privateExchangeKeys(testKeyRecords()));
    const verified = await verifyRequest({ headers, body, keys: chained, now: T });
    assert.equal(verified.keyMethod, 'private-exchange');
    assert.deepEqual(calls, ['dns/txt']);
    const onlyBroken = await reasonOf(verifyRequest({ headers, body, keys: broken, now: T }));
    assert.equal(onlyBroken, 'key-lookup-failed');
  });
});
