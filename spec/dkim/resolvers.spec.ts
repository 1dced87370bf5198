import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ZoneRecord, ZoneServer } from '../../lib/dns/zone-server.js';
import {
  chainKeys,
  DnsClient,
  dnsKeys,
  generateSigningKey,
  KeyLookupBusyError,
  KeyLookupError,
  keyDnsClient,
  keyRecord,
  keyRecordName,
  privateExchangeKeys,
  selectPublicKey,
  signRequest,
  verifyRequest,
  wellKnownBody,
  wellKnownKeys,
} from '../support/api.js';
import { keys, publishedKey, recordKey } from '../support/fixtures.js';
import { startHttpsServer, type TestHttpsServer } from '../support/https-server.js';

const jupiter = keyRecord(keys.jupiter.privateKey);
// A 4096-bit key's record (~750 octets) does not fit a 512-octet UDP answer: truncated, then TCP.
const large = generateSigningKey({ bits: 4096 }).record;
const venus = keyRecord(keys.venus.privateKey);

describe('dnsKeys (q=dns/txt) against a dns2 server on loopback', () => {
  let zone: ZoneServer;
  let server: string;
  const records: ZoneRecord[] = [
    // 2048-bit keys make a TXT answer over 512 octets: split into 255-octet strings, truncated over UDP.
    { type: 'TXT', name: 'jupiter._domainkey.example.com', text: jupiter, ttl: 1 },
    { type: 'TXT', name: 'revoked._domainkey.example.com', text: 'v=DKIM1; p=' },
    { type: 'TXT', name: 'large._domainkey.example.com', text: large },
    { type: 'CNAME', name: 'alias._domainkey.example.com', target: 'jupiter._domainkey.example.com' },
  ];
  before(async () => {
    zone = new ZoneServer(records, {
      misbehave: (name) =>
        name.includes('slow.') ? 'drop' : name.includes('broken.') ? 'servfail' : undefined,
    });
    server = (await zone.listen()).server;
  });
  after(() => zone.close());

  it('joins the strings of a TXT record split into 255-octet strings', async () => {
    const found = await dnsKeys({ servers: [server] }).lookup({
      domain: 'example.com',
      selector: 'jupiter',
      method: 'dns/txt',
    });
    assert.deepEqual(found, [jupiter]);
    assert.equal(publishedKey(selectPublicKey(found, 'rsa-sha256').key), recordKey(jupiter));
  });

  it('retries over TCP when the UDP answer is truncated', async () => {
    const client = new DnsClient({ servers: [server] });
    const found = await dnsKeys({ client }).lookup({
      domain: 'example.com',
      selector: 'large',
      method: 'dns/txt',
    });
    assert.deepEqual(found, [large]);
    assert.equal(zone.questions.filter((q) => q.startsWith('large.')).length, 2, 'asked over UDP, then TCP');
  });

  it('follows a CNAME, as delegated DKIM keys are published', async () => {
    const found = await dnsKeys({ servers: [server] }).lookup({
      domain: 'example.com',
      selector: 'alias',
      method: 'dns/txt',
    });
    assert.deepEqual(found, [jupiter]);
  });

  it('answers NXDOMAIN with no records, and a revoked record as published', async () => {
    const resolver = dnsKeys({ servers: [server] });
    assert.deepEqual(
      await resolver.lookup({ domain: 'example.com', selector: 'nope', method: 'dns/txt' }),
      [],
    );
    assert.deepEqual(
      await resolver.lookup({ domain: 'example.com', selector: 'revoked', method: 'dns/txt' }),
      ['v=DKIM1; p='],
    );
  });

  it('caches answers for their TTL and empty answers briefly', async () => {
    const client = new DnsClient({ servers: [server], negativeTtl: 60 });
    const resolver = dnsKeys({ client });
    const query = { domain: 'example.com', selector: 'jupiter', method: 'dns/txt' } as const;
    await resolver.lookup(query);
    const asked = client.queries;
    await resolver.lookup(query);
    assert.equal(client.queries, asked, 'second lookup within the TTL is cached');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await resolver.lookup(query);
    assert.equal(client.queries, asked + 1, 'after the 1 s TTL the record is fetched again');
    await resolver.lookup({ ...query, selector: 'nope' });
    await resolver.lookup({ ...query, selector: 'nope' });
    assert.equal(client.queries, asked + 2, 'NXDOMAIN is cached');
  });

  it('keeps a key record at least a minute whatever its TTL: a flood of requests is one query', async () => {
    const client = keyDnsClient({ servers: [server] });
    const query = { domain: 'example.com', selector: 'jupiter', method: 'dns/txt' } as const;
    await dnsKeys({ client }).lookup(query);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.deepEqual(await dnsKeys({ client }).lookup(query), [jupiter], 'its TTL is 1 s');
    assert.equal(client.queries, 1);
  });

  it('times out on a silent server, and remembers the failure briefly', async () => {
    const client = new DnsClient({ servers: [server], timeout: 200, failureTtl: 30 });
    const resolver = dnsKeys({ client });
    const started = Date.now();
    await assert.rejects(
      resolver.lookup({ domain: 'slow.example.com', selector: 's', method: 'dns/txt' }),
      KeyLookupError,
    );
    assert.ok(Date.now() - started < 1000);
    await assert.rejects(
      resolver.lookup({ domain: 'slow.example.com', selector: 's', method: 'dns/txt' }),
      /timed out/,
    );
    assert.equal(client.queries, 1);
  });

  it('reports SERVFAIL as a lookup failure, and tries the next name server', async () => {
    const resolver = dnsKeys({ servers: [server], timeout: 300 });
    await assert.rejects(
      resolver.lookup({ domain: 'broken.example.com', selector: 's', method: 'dns/txt' }),
      /SERVFAIL/,
    );
    // A dead first server (nothing listens on port 9) does not stop the second from answering.
    const twoServers = dnsKeys({ servers: ['127.0.0.1:9', server], timeout: 300 });
    assert.deepEqual(
      await twoServers.lookup({ domain: 'example.com', selector: 'jupiter', method: 'dns/txt' }),
      [jupiter],
    );
  });
});

describe('wellKnownKeys (q=http/well-known) against an HTTPS key server', () => {
  let zone: ZoneServer;
  let dns: DnsClient;
  let keyServer: TestHttpsServer;
  let answer: { status: number; type: string; body: string; delay?: number; cacheControl?: string } = {
    status: 200,
    type: 'text/plain',
    body: '',
  };
  const paths: string[] = [];
  const accepts: Array<string | undefined> = [];

  before(async () => {
    keyServer = await startHttpsServer(['keys.example.com'], (req, res) => {
      paths.push(req.url ?? '');
      accepts.push(req.headers.accept);
      setTimeout(() => {
        res.writeHead(answer.status, {
          'Content-Type': answer.type,
          ...(answer.cacheControl && { 'Cache-Control': answer.cacheControl }),
        });
        res.end(answer.body);
      }, answer.delay ?? 0);
    });
    zone = new ZoneServer([
      {
        type: 'SRV',
        name: '_domainkey_lookup._tcp.example.com',
        priority: 0,
        weight: 0,
        port: keyServer.port,
        target: 'keys.example.com',
      },
      { type: 'A', name: 'keys.example.com', address: '127.0.0.1' },
      {
        type: 'SRV',
        name: '_domainkey_lookup._tcp.example.net',
        priority: 0,
        weight: 0,
        port: keyServer.port,
        target: 'keys.example.com',
      },
      // Two key servers: the first refuses connections (nothing listens on port 9).
      {
        type: 'SRV',
        name: '_domainkey_lookup._tcp.two.example',
        priority: 0,
        weight: 0,
        port: 9,
        target: 'keys.example.com',
      },
      {
        type: 'SRV',
        name: '_domainkey_lookup._tcp.two.example',
        priority: 1,
        weight: 0,
        port: keyServer.port,
        target: 'keys.example.com',
      },
      // No SRV: only the fallback to https://fallback.example (port 443, where nothing serves keys).
      { type: 'A', name: 'fallback.example', address: '127.0.0.1' },
      {
        type: 'SRV',
        name: '_domainkey_lookup._tcp.none.example',
        priority: 0,
        weight: 0,
        port: 0,
        target: '.',
      },
    ]);
    dns = new DnsClient({ servers: [(await zone.listen()).server] });
  });
  after(async () => {
    await keyServer.close();
    await zone.close();
  });

  const lookup = (options: Parameters<typeof wellKnownKeys>[0] = {}, domain = 'example.com') =>
    wellKnownKeys({ dns, ca: keyServer.ca, timeout: 500, allowNetworks: ['127.0.0.1'], ...options }).lookup({
      domain,
      selector: 'jupiter',
      method: 'http/well-known',
    });

  it('finds the key server by SRV and reads one record per line', async () => {
    answer = { status: 200, type: 'text/plain; charset=utf-8', body: wellKnownBody([venus, jupiter]) };
    assert.deepEqual(await lookup(), [venus, jupiter]);
    assert.equal(paths.at(-1), '/.well-known/domainkey/example.com/jupiter');
    assert.equal(accepts.at(-1), 'text/plain', 'asks for what it reads');
    answer = { status: 200, type: 'Text/Plain ;charset=us-ascii', body: jupiter };
    assert.deepEqual(await lookup(), [jupiter], 'the media type in any case, spaced before its parameters');
  });

  it('keeps a document for the max-age its server gives', async (t) => {
    // The resolver's cache reads the clock it was made with: the spec's, moved by hand.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const resolver = wellKnownKeys({ dns, ca: keyServer.ca, timeout: 500, allowNetworks: ['127.0.0.1'] });
    const query = { domain: 'example.com', selector: 'jupiter', method: 'http/well-known' } as const;
    answer = { status: 200, type: 'text/plain', body: jupiter, cacheControl: 'public, max-age=120' };
    const asked = paths.length;
    await resolver.lookup(query);
    t.mock.timers.tick(119_000);
    await resolver.lookup(query);
    assert.equal(paths.length, asked + 1, 'kept for its max-age');
    t.mock.timers.tick(2_000);
    await resolver.lookup(query);
    assert.equal(paths.length, asked + 2, 'and fetched again after it');
  });

  it('tries the next key server when one cannot be reached', async () => {
    answer = { status: 200, type: 'text/plain', body: jupiter };
    assert.deepEqual(await lookup({}, 'two.example'), [jupiter]);
  });

  it('falls back to https://<domain> without SRV (as CalendarServer does), unless told not to', async () => {
    answer = { status: 200, type: 'text/plain', body: jupiter };
    await assert.rejects(
      lookup({}, 'fallback.example'),
      /^KeyLookupError: the key server fallback\.example /,
    );
    assert.deepEqual(await lookup({ fallbackToDomain: false }, 'fallback.example'), []);
  });

  it('remembers a document, and a failure for a while, instead of asking again', async () => {
    const resolver = wellKnownKeys({ dns, ca: keyServer.ca, timeout: 500, allowNetworks: ['127.0.0.1'] });
    const query = { domain: 'example.com', selector: 'jupiter', method: 'http/well-known' } as const;
    answer = { status: 200, type: 'text/plain', body: jupiter };
    const asked = paths.length;
    assert.deepEqual(await resolver.lookup(query), [jupiter]);
    assert.deepEqual(await resolver.lookup(query), [jupiter]);
    assert.deepEqual(resolver.cached?.(query), [jupiter]);
    assert.equal(paths.length, asked + 1, 'one fetch');
    answer = { status: 503, type: 'text/plain', body: '' };
    const failing = { ...query, selector: 'failing' };
    const first = await resolver.lookup(failing).catch((error: unknown) => error);
    assert.ok(first instanceof KeyLookupError, String(first));
    assert.equal(first.name, 'KeyLookupError');
    assert.equal(first.code, 'key-lookup-failed');
    answer = { status: 200, type: 'text/plain', body: jupiter };
    await new Promise((resolve) => setTimeout(resolve, 50));
    await assert.rejects(resolver.lookup(failing), (error) => error === first, 'the failure is remembered');
    assert.equal(resolver.cached?.(failing), undefined, 'a failure is no key known without waiting');
    assert.equal(paths.length, asked + 2);
  });

  it('verifies TLS: an unknown CA is a lookup failure unless explicitly disabled', async () => {
    answer = { status: 200, type: 'text/plain', body: jupiter };
    await assert.rejects(lookup({ ca: undefined }), /self.signed|certificate/i);
    assert.deepEqual(await lookup({ ca: undefined, rejectUnauthorized: false }), [jupiter]);
  });

  it('treats 404 as no key and other statuses, wrong types, slow and oversized answers as failures', async () => {
    answer = { status: 404, type: 'text/plain', body: 'not here' };
    assert.deepEqual(await lookup(), []);
    answer = { status: 410, type: 'text/plain', body: 'revoked and gone' };
    assert.deepEqual(await lookup(), []);
    answer = { status: 500, type: 'text/plain', body: '' };
    await assert.rejects(lookup(), /HTTP 500/);
    // Keys come from the server the domain's SRV names: a redirect elsewhere is not followed.
    answer = { status: 301, type: 'text/plain', body: '' };
    await assert.rejects(lookup(), /HTTP 301/);
    answer = { status: 200, type: 'text/html', body: jupiter };
    await assert.rejects(lookup(), /did not serve text\/plain/);
    answer = { status: 200, type: 'text/plain', body: 'x'.repeat(100_000) };
    await assert.rejects(lookup(), /over 16384 octets/);
    answer = { status: 200, type: 'text/plain', body: jupiter, delay: 2000 };
    await assert.rejects(lookup(), /did not answer within 500 ms/);
  });

  it('runs at most maxConcurrent fetches at once, whatever their domains; the rest are busy', async () => {
    answer = { status: 200, type: 'text/plain', body: jupiter, delay: 300 };
    const resolver = wellKnownKeys({ dns, ca: keyServer.ca, allowNetworks: ['127.0.0.1'], maxConcurrent: 1 });
    const query = { selector: 'jupiter', method: 'http/well-known' } as const;
    const [first, second] = await Promise.allSettled([
      resolver.lookup({ ...query, domain: 'example.com' }),
      resolver.lookup({ ...query, domain: 'example.net' }),
    ]);
    assert.deepEqual(first.status === 'fulfilled' && first.value, [jupiter]);
    assert.ok(second.status === 'rejected' && second.reason instanceof KeyLookupBusyError, String(second));
    // A busy refusal is not remembered: once the first is done, the second gets its turn.
    assert.deepEqual(await resolver.lookup({ ...query, domain: 'example.net' }), [jupiter]);
  });

  it('says "no key" when the domain publishes no key service ("." target), and fails when no server answers', async () => {
    assert.deepEqual(await lookup({}, 'none.example'), []);
    await assert.rejects(lookup({}, 'unknown.example'), KeyLookupError);
  });
});

describe('privateExchangeKeys and chainKeys', () => {
  it('reads records keyed by owner name, case-insensitively, one per line', async () => {
    const resolver = privateExchangeKeys({ 'Jupiter._domainkey.Example.COM': `${venus}\n\n${jupiter}\n` });
    assert.deepEqual(
      await resolver.lookup({ domain: 'example.com', selector: 'jupiter', method: 'private-exchange' }),
      [venus, jupiter],
    );
  });

  it('asks the resolvers of a method in order and returns the first non-empty answer', async () => {
    const empty = privateExchangeKeys({});
    const full = privateExchangeKeys({ 'jupiter._domainkey.example.com': jupiter });
    const chain = chainKeys(empty, full, dnsKeys({ servers: ['127.0.0.1:9'] }));
    assert.deepEqual(chain.methods, ['private-exchange', 'dns/txt']);
    assert.deepEqual(
      await chain.lookup({ domain: 'example.com', selector: 'jupiter', method: 'private-exchange' }),
      [jupiter],
    );
  });
});

describe('keyRecordName', () => {
  it('names each key by both its parts, whatever was asked before (it remembers the last name)', () => {
    const asked: Array<[string, string, string]> = [
      ['example.com', 'jupiter', 'jupiter._domainkey.example.com'],
      ['example.com', 'jupiter', 'jupiter._domainkey.example.com'],
      ['example.com', 'mars', 'mars._domainkey.example.com'],
      ['example.org', 'mars', 'mars._domainkey.example.org'],
      ['Example.ORG', 'Mars', 'mars._domainkey.example.org'],
      ['example.com', 'jupiter', 'jupiter._domainkey.example.com'],
      ['', '', '._domainkey.'],
    ];
    for (const [domain, selector, name] of asked) assert.equal(keyRecordName(domain, selector), name);
  });
});

describe('keys known without waiting (cached)', () => {
  it('is answered by each resolver from what it already holds, and by the chain in order', async () => {
    const zone = new ZoneServer([{ type: 'TXT', name: 'jupiter._domainkey.example.com', text: jupiter }]);
    const server = (await zone.listen()).server;
    try {
      const query = { domain: 'example.com', selector: 'jupiter', method: 'dns/txt' } as const;
      const dns = dnsKeys({ servers: [server] });
      assert.equal(dns.cached?.(query), undefined, 'nothing asked yet: only a lookup can tell');
      const looked = await dns.lookup(query);
      assert.deepEqual(dns.cached?.(query), [jupiter]);
      assert.equal(dns.cached?.(query), looked, 'the same array each time');
      const table = privateExchangeKeys({ 'venus._domainkey.example.org': venus });
      assert.deepEqual(
        table.cached?.({ domain: 'example.org', selector: 'venus', method: 'private-exchange' }),
        [venus],
      );
      assert.deepEqual(
        table.cached?.({ domain: 'example.org', selector: 'none', method: 'private-exchange' }),
        [],
      );
      const chain = chainKeys(privateExchangeKeys({}), dns);
      assert.deepEqual(chain.cached?.(query), [jupiter]);
      assert.equal(chain.cached?.({ ...query, selector: 'other' }), undefined);
    } finally {
      await zone.close();
    }
  });

  it('lets verification with a known key skip the lookup entirely', async () => {
    const body = 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n';
    const headers: Array<[string, string]> = [
      ['Originator', 'mailto:bernard@example.com'],
      ['Recipient', 'mailto:cyrus@example.org'],
      ['Content-Type', 'text/calendar; component=VEVENT; method=REQUEST'],
      ['iSchedule-Version', '1.0'],
    ];
    headers.push([
      'DKIM-Signature',
      signRequest({ headers, body, key: keys.jupiter, queryMethods: ['dns/txt'] }),
    ]);
    let lookups = 0;
    const resolver = {
      methods: ['dns/txt'] as const,
      cached: () => [jupiter],
      lookup: async () => {
        lookups++;
        return [];
      },
    };
    const verified = await verifyRequest({ headers, body, keys: resolver });
    assert.equal(verified.domain, 'example.com');
    assert.equal(lookups, 0);
    // Unknown to the cache: the lookup decides.
    await assert.rejects(
      verifyRequest({ headers, body, keys: { ...resolver, cached: () => undefined } }),
      /no key record/,
    );
    assert.equal(lookups, 1);
  });
});
