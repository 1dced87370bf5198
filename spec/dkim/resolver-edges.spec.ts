/**
 * The key resolvers' decisions that need no network: where a key document may be fetched from,
 * how long it is kept, how a chain of resolvers answers, how private-exchange tables are read,
 * and how concurrent fetches are counted. DNS here is a resolver the spec writes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { documentTtl } from '../../lib/dkim/resolvers.js';
import { DnsError } from '../../lib/dns/client.js';
import {
  chainKeys,
  type DnsResolver,
  KeyLookupBusyError,
  KeyLookupError,
  type KeyResolver,
  keyDocumentUrls,
  keyRecord,
  privateExchangeKeys,
  type SrvRecord,
  wellKnownKeys,
} from '../support/api.js';
import { keys } from '../support/fixtures.js';

const jupiter = keyRecord(keys.jupiter.privateKey);
const venus = keyRecord(keys.venus.privateKey);

/** DNS answering SRV questions from a table (or by `srv` itself); nothing else is asked here. */
function fakeDns(srv: (name: string, signal?: AbortSignal) => Promise<readonly SrvRecord[]>): DnsResolver {
  return {
    srv,
    txt: async () => [],
    addresses: async () => [],
  };
}
const noSrv = fakeDns(async () => []);

describe('where key documents are fetched from (http/well-known)', () => {
  it('falls back to https://<domain> without SRV, only for a name with a dot that is no address', async () => {
    assert.deepEqual((await keyDocumentUrls(noSrv, 'example.com', 'cal 1')).map(String), [
      'https://example.com/.well-known/domainkey/example.com/cal%201',
    ]);
    assert.deepEqual(await keyDocumentUrls(noSrv, 'example.com', 'cal', false), [], 'fallback turned off');
    assert.deepEqual(await keyDocumentUrls(noSrv, 'intranet', 'cal'), [], 'a single label');
    assert.deepEqual(await keyDocumentUrls(noSrv, '192.0.2.1', 'cal'), [], 'an address');
  });

  it('takes at most three SRV targets, in order, on https at their ports, never an address', async () => {
    const targets: SrvRecord[] = [
      { priority: 0, weight: 0, port: 443, target: '192.0.2.7' },
      { priority: 1, weight: 0, port: 8443, target: 'k1.example.com.' },
      { priority: 2, weight: 0, port: 443, target: 'k2.example.com' },
      { priority: 3, weight: 0, port: 80, target: 'k3.example.com' },
      { priority: 4, weight: 0, port: 443, target: 'k4.example.com' },
    ];
    const urls = await keyDocumentUrls(
      fakeDns(async () => targets),
      'example.com',
      'cal',
    );
    assert.deepEqual(
      urls.map((url) => url.origin),
      ['https://k1.example.com:8443', 'https://k2.example.com', 'https://k3.example.com:80'],
    );
  });

  it('says in its own words why the SRV question failed', async () => {
    const failing = (error: unknown) => fakeDns(async () => Promise.reject(error));
    for (const [error, words] of [
      [new DnsError('timeout', 'no answer from 192.0.2.53'), 'timed out'],
      [new DnsError('malformed', 'bad packet'), 'got an unreadable answer'],
      [new DnsError('SERVFAIL', 'SERVFAIL from 192.0.2.53'), 'failed (SERVFAIL)'],
      [new Error('socket closed'), 'got no answer'],
      [undefined, 'got no answer'],
    ] as const) {
      await assert.rejects(
        keyDocumentUrls(failing(error), 'example.com', 'cal'),
        (thrown: unknown) =>
          thrown instanceof KeyLookupError &&
          thrown.message === `the DNS lookup of _domainkey_lookup._tcp.example.com ${words}` &&
          thrown.detail === (error instanceof Error ? error.message : String(error)),
      );
    }
    const abandoned = new AbortController();
    abandoned.abort();
    await assert.rejects(
      keyDocumentUrls(failing(new Error('aborted')), 'example.com', 'cal', true, abandoned.signal),
      /^KeyLookupError: the DNS lookup of _domainkey_lookup._tcp.example.com was abandoned$/,
    );
  });
});

describe('how long a key document is kept', () => {
  it('for its max-age between a minute and an hour, else ten minutes', () => {
    for (const [cacheControl, seconds] of [
      [undefined, 600],
      ['max-age=120', 120],
      ['public, max-age=120', 120],
      ['no-cache,max-age=900', 900],
      ['MAX-AGE=300', 300],
      ['max-age=5', 60],
      ['max-age=86400', 3600],
      ['s-maxage=120', 600],
      ['max-age=abc', 600],
      ['max-age=1234567890', 3600],
    ] as const) {
      assert.equal(documentTtl(cacheControl), seconds, String(cacheControl));
    }
  });
});

describe('wellKnownKeys counts concurrent fetches by registrable domain', () => {
  it('random sub-domains of one domain share its turns', async () => {
    // SRV questions that hang until abandoned hold a fetch's turn.
    const hanging = fakeDns(
      (_name, signal) =>
        new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
    );
    const resolver = wellKnownKeys({ dns: hanging, maxConcurrentPerDomain: 1 });
    const first = new AbortController();
    const held = resolver
      .lookup({ domain: 'a1.evil.example', selector: 's', method: 'http/well-known', signal: first.signal })
      .catch((error: unknown) => error);
    const second = new AbortController();
    const timer = setTimeout(() => second.abort(new Error('not refused at once')), 1000);
    const refused = await resolver
      .lookup({ domain: 'b2.evil.example', selector: 's', method: 'http/well-known', signal: second.signal })
      .catch((error: unknown) => error);
    clearTimeout(timer);
    first.abort(new Error('done'));
    await held;
    assert.ok(refused instanceof KeyLookupBusyError, String(refused));
    assert.equal(refused.name, 'KeyLookupBusyError');
    assert.equal(refused.code, 'key-lookup-busy');
  });
});

describe('chainKeys', () => {
  const query = { domain: 'example.com', selector: 'jupiter', method: 'private-exchange' } as const;
  const answering = (records: readonly string[]): KeyResolver => ({
    methods: ['private-exchange'],
    cached: () => records,
    lookup: async () => records,
  });
  const failing = (error: Error): KeyResolver => ({
    methods: ['private-exchange'],
    lookup: async () => {
      throw error;
    },
  });

  it('answers from what its resolvers hold: the first that has records, else none', () => {
    const chain = chainKeys(answering([]), answering([jupiter]), answering([venus]));
    assert.deepEqual(chain.cached?.(query), [jupiter]);
    assert.deepEqual(chainKeys(answering([]), answering([])).cached?.(query), []);
  });

  it('goes past a resolver that failed, and reports the failure only when no other answers', async () => {
    const failure = new KeyLookupError('the first resolver failed');
    assert.deepEqual(await chainKeys(failing(failure), answering([jupiter])).lookup(query), [jupiter]);
    await assert.rejects(chainKeys(failing(failure), answering([])).lookup(query), (e) => e === failure);
    assert.deepEqual(await chainKeys(answering([]), answering([])).lookup(query), []);
  });

  it('stops at our own overload, and when the lookup was abandoned', async () => {
    const busy = new KeyLookupBusyError('too many key lookups are in progress here; retry shortly');
    let asked = 0;
    const counting: KeyResolver = {
      methods: ['private-exchange'],
      lookup: async () => {
        asked++;
        return [jupiter];
      },
    };
    await assert.rejects(chainKeys(failing(busy), counting).lookup(query), (e) => e === busy);
    const abandoned = new AbortController();
    abandoned.abort();
    const failure = new KeyLookupError('abandoned');
    await assert.rejects(
      chainKeys(failing(failure), counting).lookup({ ...query, signal: abandoned.signal }),
      (e) => e === failure,
    );
    assert.equal(asked, 0);
  });
});

describe('privateExchangeKeys', () => {
  it('takes names with a final dot, trims lines, and reads at most 16 records a name', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `  v=DKIM1; n=${i}; p=${i}  `);
    const resolver = privateExchangeKeys({ 'cal._domainkey.example.com.': lines.join('\r\n') });
    const found = await resolver.lookup({
      domain: 'example.com',
      selector: 'cal',
      method: 'private-exchange',
    });
    assert.equal(found.length, 16);
    assert.equal(found[0], 'v=DKIM1; n=0; p=0');
    assert.equal(found[15], 'v=DKIM1; n=15; p=15');
  });
});
