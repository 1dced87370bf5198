/**
 * verifyRequest's options and what it returns: the lifetime policy a receiver sets, the times it
 * reports for replay caches, and how a key lookup ends (deadline, caller gone, busy, failed, no
 * key), each in the words and with the detail a receiver's log needs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyLookupDeadline } from '../../lib/dkim/verify.js';
import {
  IScheduleError,
  KeyLookupBusyError,
  KeyLookupError,
  type KeyQuery,
  type KeyResolver,
  signRequest,
  VerificationError,
  verifyRequest,
} from '../support/api.js';
import { draftHeaders, fixture, keys, testKeyResolver } from '../support/fixtures.js';
import { rejectionReason } from '../support/outcome.js';
import { signWithTags } from '../support/sign-raw.js';

const body = fixture('draft/a1-request.ics');
const NOW = 1_800_000_000;

/** verifyRequest of a request signed with exactly these times. */
function verifyTimes(
  tags: { t?: number; x?: number },
  options: Partial<Parameters<typeof verifyRequest>[0]> = {},
) {
  const headers = draftHeaders();
  const signature = signWithTags(headers, body, keys.jupiter, tags);
  return verifyRequest({
    headers: [...headers, ['DKIM-Signature', signature]],
    body,
    keys: testKeyResolver(),
    now: NOW,
    ...options,
  });
}

describe('the lifetime a receiver accepts', () => {
  it('requires t= when asked to, and only then', async () => {
    assert.equal(
      await rejectionReason(verifyTimes({ x: NOW + 300 }, { requireTimestamp: true })),
      'missing-timestamp',
    );
    assert.equal((await verifyTimes({ x: NOW + 300 })).domain, 'example.com');
    assert.equal((await verifyTimes({ t: NOW, x: NOW + 300 }, { requireTimestamp: true })).signedAt, NOW);
  });

  it('refuses an x= more than maxLifetime after t=, and takes one exactly at it', async () => {
    // t= in the past: the lifetime is counted from t=, not from now.
    const t = NOW - 100;
    assert.equal(
      await rejectionReason(verifyTimes({ t, x: t + 301 }, { maxLifetime: 300 })),
      'lifetime-too-long',
    );
    assert.equal((await verifyTimes({ t, x: t + 300 }, { maxLifetime: 300 })).expiresAt, t + 300);
    // Without a bound, any lifetime.
    assert.equal((await verifyTimes({ t, x: t + 86_400 })).expiresAt, t + 86_400);
  });

  it('counts from now when there is no t=, and has nothing to bound without x=', async () => {
    assert.equal(
      await rejectionReason(verifyTimes({ x: NOW + 301 }, { maxLifetime: 300 })),
      'lifetime-too-long',
    );
    assert.equal((await verifyTimes({ x: NOW + 300 }, { maxLifetime: 300 })).expiresAt, NOW + 300);
    assert.equal((await verifyTimes({ t: NOW }, { maxLifetime: 300 })).signedAt, NOW);
  });
});

describe('what a verified request reports', () => {
  it('reports t= and x= when signed, and leaves them out when not', async () => {
    const both = await verifyTimes({ t: NOW - 10, x: NOW + 290 });
    assert.equal(both.signedAt, NOW - 10);
    assert.equal(both.expiresAt, NOW + 290);
    const neither = await verifyTimes({});
    assert.equal('signedAt' in neither, false);
    assert.equal('expiresAt' in neither, false);
  });

  it('verifies a body given as text as its UTF-8 octets', async () => {
    const headers = draftHeaders();
    const text = body.toString('utf8').replace('SUMMARY:', 'SUMMARY:Café ');
    const signature = signRequest({ headers, body: Buffer.from(text, 'utf8'), key: keys.jupiter });
    const signed: Array<[string, string]> = [...headers, ['DKIM-Signature', signature]];
    assert.equal(
      (await verifyRequest({ headers: signed, body: text, keys: testKeyResolver() })).domain,
      'example.com',
    );
  });
});

/** A resolver whose lookups never answer: they end only when their signal aborts. */
function silentKeys(seen: unknown[] = []): KeyResolver {
  return {
    methods: ['dns/txt'],
    lookup: ({ signal }: KeyQuery) =>
      new Promise((_, reject) => {
        signal?.addEventListener('abort', () => {
          seen.push(signal.reason);
          reject(signal.reason);
        });
      }),
  };
}

/** A request signed with q=dns/txt, verified with these keys and options. */
function verifyWithKeys(keysToUse: KeyResolver, options: Partial<Parameters<typeof verifyRequest>[0]> = {}) {
  const headers = draftHeaders();
  const signature = signRequest({ headers, body, key: keys.jupiter, queryMethods: ['dns/txt'] });
  return verifyRequest({
    headers: [...headers, ['DKIM-Signature', signature]],
    body,
    keys: keysToUse,
    ...options,
  });
}

describe('how a key lookup ends', () => {
  it('at its deadline: key-lookup-failed, and the resolver is told why it was stopped', async () => {
    const seen: unknown[] = [];
    const started = Date.now();
    const error = await verifyWithKeys(silentKeys(seen), { keyLookupTimeout: 50 }).catch((e: unknown) => e);
    assert.ok(Date.now() - started < 2000, 'not held past the deadline');
    assert.ok(error instanceof VerificationError, String(error));
    assert.equal(error.reason, 'key-lookup-failed');
    assert.match(error.message, /could not be found within 50 ms/);
    assert.match(String(error.detail), /^dns\/txt: /);
    const [reason] = seen;
    assert.ok(reason instanceof KeyLookupDeadline);
    assert.equal(reason.name, 'KeyLookupDeadline');
    assert.equal(reason.timeout, 50);
    assert.equal(reason.message, 'the key lookup did not finish within 50 ms');
  });

  it('when the caller goes away: the caller’s reason, at once, not a deadline', async () => {
    const caller = new AbortController();
    const gone = new Error('client closed the connection');
    setTimeout(() => caller.abort(gone), 20);
    const started = Date.now();
    await assert.rejects(
      verifyWithKeys(silentKeys(), { signal: caller.signal, keyLookupTimeout: 5000 }),
      (error) => error === gone,
    );
    assert.ok(Date.now() - started < 2000);
  });

  it('with no deadline of its own (Infinity), still says what failed', async () => {
    const failing: KeyResolver = {
      methods: ['dns/txt'],
      lookup: async () => {
        throw new KeyLookupError('the DNS lookup timed out', 'server 192.0.2.1 said nothing');
      },
    };
    const error = await verifyWithKeys(failing, { keyLookupTimeout: Number.POSITIVE_INFINITY }).catch(
      (e: unknown) => e,
    );
    assert.ok(error instanceof VerificationError, String(error));
    assert.equal(error.reason, 'key-lookup-failed');
    assert.equal(
      error.message,
      'the key for jupiter._domainkey.example.com could not be fetched: dns/txt: the DNS lookup timed out',
    );
    assert.equal(error.detail, 'dns/txt: server 192.0.2.1 said nothing');
  });

  it('a resolver failing in its own way is described in ours, its text kept for the log', async () => {
    for (const [thrown, logged] of [
      [new Error('connect ECONNREFUSED 10.1.2.3:53'), 'connect ECONNREFUSED 10.1.2.3:53'],
      ['a bare string', 'a bare string'],
    ] as const) {
      const odd: KeyResolver = {
        methods: ['dns/txt'],
        lookup: () => Promise.reject(thrown),
      };
      const error = await verifyWithKeys(odd).catch((e: unknown) => e);
      assert.ok(error instanceof VerificationError, String(error));
      assert.equal(error.reason, 'key-lookup-failed');
      assert.match(error.message, /: dns\/txt: the lookup failed$/);
      assert.doesNotMatch(error.message, /10\.1\.2\.3|bare string/);
      assert.equal(error.detail, `dns/txt: ${logged}`);
    }
  });

  it('our own overload is a 503 with Retry-After, with its detail for the log', async () => {
    const busy = (detail?: string): KeyResolver => ({
      methods: ['dns/txt'],
      lookup: async () => {
        throw new KeyLookupBusyError('too many key lookups are in progress here; retry shortly', detail);
      },
    });
    const error = await verifyWithKeys(busy('key fetches: 16 running')).catch((e: unknown) => e);
    assert.ok(error instanceof IScheduleError, String(error));
    assert.equal(error.status, 503);
    assert.equal(error.retryAfter, 5);
    assert.equal(error.detail, 'key fetches: 16 running');
    const bare = await verifyWithKeys(busy()).catch((e: unknown) => e);
    assert.ok(bare instanceof IScheduleError);
    assert.equal(bare.detail, undefined);
  });

  it('says which methods were tried when none has a key, and which are enabled when none may be asked', async () => {
    const none: KeyResolver = { methods: ['dns/txt'], lookup: async () => [] };
    const error = await verifyWithKeys(none).catch((e: unknown) => e);
    assert.ok(error instanceof VerificationError);
    assert.equal(error.reason, 'no-key');
    assert.equal(error.message, 'no key record at jupiter._domainkey.example.com (tried dns/txt)');
    const other: KeyResolver = { methods: ['private-exchange'], lookup: async () => [] };
    const disabled = await verifyWithKeys(other).catch((e: unknown) => e);
    assert.ok(disabled instanceof VerificationError);
    assert.equal(disabled.reason, 'no-key');
    assert.equal(
      disabled.message,
      'none of the key query methods q=dns/txt is enabled here (enabled: private-exchange)',
    );
  });
});
