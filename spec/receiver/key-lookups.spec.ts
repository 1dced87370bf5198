/**
 * Key lookups for untrusted signatures: a peer chooses `d=`, `s=` and `q=`, and through its DNS
 * the key servers. None of it may make the receiver connect inside our own network, read us an
 * internal page, amplify one request into many connections, or hold a request beyond one deadline.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type ZoneRecord, ZoneServer } from '../../lib/dns/zone-server.js';
import {
  bodyHash,
  defaultKeys,
  IScheduleMetrics,
  keyRecord,
  type Logger,
  wellKnownBody,
} from '../support/api.js';
import { draftHeaders, fixture, type Headers, keys } from '../support/fixtures.js';
import { type InternalServer, startInternalServer } from '../support/internal-server.js';
import { describeResponse, type PostResult, startReceiver, type TestReceiver } from '../support/receiver.js';

const body = fixture('draft/a1-request.ics');

/** An unsigned request dressed as signed: a correct bh=, a junk b=, and the d=/s=/q= we choose. */
function forged(domain: string, selector = 'sel', q = 'http/well-known'): Headers {
  const now = Math.floor(Date.now() / 1000);
  const signature = [
    'v=1',
    'a=rsa-sha256',
    'c=ischedule-relaxed/simple',
    `d=${domain}`,
    `s=${selector}`,
    `q=${q}`,
    `t=${now}`,
    `x=${now + 300}`,
    'h=Originator:Recipient:Content-Type:iSchedule-Version',
    `bh=${bodyHash(body, 'sha256')}`,
    `b=${randomBytes(256).toString('base64')}`,
  ].join('; ');
  return [...draftHeaders(), ['DKIM-Signature', signature]];
}

async function send(receiver: TestReceiver, headers: Headers): Promise<PostResult> {
  const url = new URL('/.well-known/ischedule', receiver.url);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: Object.fromEntries(headers) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve(
          describeResponse({
            status: res.statusCode ?? 0,
            headers: res.headers as Record<string, string>,
            body: Buffer.concat(chunks),
          }),
        ),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('key lookups reach only the public Internet (SSRF)', () => {
  let zone: ZoneServer;
  let dnsServer: string;
  let internal: InternalServer;
  const logs: Array<Record<string, unknown>> = [];
  const logger: Logger = { warn: (_message, details) => logs.push(details ?? {}) };

  before(async () => {
    internal = await startInternalServer(['internal.corp.example']);
    const srv = (name: string, target: string, port = internal.port): ZoneRecord => ({
      type: 'SRV',
      name: `_domainkey_lookup._tcp.${name}`,
      priority: 0,
      weight: 0,
      port,
      target,
    });
    zone = new ZoneServer([
      srv('evil.example', 'internal.corp.example.'),
      { type: 'A', name: 'internal.corp.example', address: '127.0.0.1' },
      srv('literal.example', '127.0.0.1.'),
      srv('closed.example', 'internal.corp.example.', 9),
      { type: 'A', name: 'localhost', address: '127.0.0.1' },
      { type: 'A', name: 'rebound.example', address: '127.0.0.1' },
    ]);
    dnsServer = (await zone.listen()).server;
  });
  after(async () => {
    await internal.close();
    await zone.close();
  });

  const receiverWith = (router: Record<string, unknown> = {}) =>
    startReceiver({ router: { keys: undefined, dns: { servers: [dnsServer] }, logger, ...router } });

  it('does not connect to a key server whose name resolves to loopback, and says so in its own words', async () => {
    const receiver = await receiverWith();
    try {
      const result = await send(receiver, forged('evil.example'));
      assert.equal(result.status, 403);
      assert.equal(result.error?.code, 'verification-failed');
      assert.equal(internal.connections, 0, 'no connection was opened to the internal server');
      const description = result.error?.description ?? '';
      assert.match(
        description,
        /the key server internal\.corp\.example has no address this receiver may connect to/,
      );
      assert.doesNotMatch(description, /127\.0\.0\.1|ECONN|loopback/, 'no resolved address in the answer');
      // The administrator's log has the whole story.
      assert.match(String(logs.at(-1)?.detail), /127\.0\.0\.1 \(a loopback address\)/);
    } finally {
      await receiver.close();
    }
  });

  it('refuses d= values that are addresses, before any lookup', async () => {
    const receiver = await receiverWith();
    try {
      for (const d of ['127.0.0.1', '0x7f.1', '2130706433', '127.1']) {
        const result = await send(receiver, forged(d));
        assert.equal(result.status, 403, d);
        assert.match(result.error?.description ?? '', /is not a domain name/, d);
      }
      assert.equal(internal.connections, 0);
      assert.ok(!zone.questions.some((q) => /127|0x7f|2130706433/.test(q)), zone.questions.join());
    } finally {
      await receiver.close();
    }
  });

  it('never falls back to https://<d> for a single-label d= (d=localhost), nor to an SRV target that is an address', async () => {
    const receiver = await receiverWith();
    try {
      for (const d of ['localhost', 'literal.example']) {
        const result = await send(receiver, forged(d));
        assert.equal(result.status, 403, d);
      }
      // rebound.example has no key-server SRV: https://rebound.example resolves to loopback.
      const rebound = await send(receiver, forged('rebound.example'));
      assert.match(rebound.error?.description ?? '', /has no address this receiver may connect to/);
      assert.equal(internal.connections, 0);
    } finally {
      await receiver.close();
    }
  });

  it('reaches a private key server only when allowNetworks lists its network', async () => {
    const receiver = await receiverWith({ allowNetworks: ['127.0.0.0/8'] });
    try {
      await send(receiver, forged('evil.example'));
      assert.ok(internal.connections > 0, 'the allowed network is reached');
    } finally {
      await receiver.close();
    }
  });

  it('never quotes what a key server answered, nor the error it gave', async () => {
    const receiver = await receiverWith({
      keys: defaultKeys({ dns: { servers: [dnsServer] }, ca: internal.ca, allowNetworks: ['127.0.0.0/8'] }),
    });
    try {
      internal.answer = { status: 200, type: 'text/plain', body: '[db] password=hunter2\nadmin=root\n' };
      const result = await send(receiver, forged('evil.example', 'leak'));
      assert.equal(result.status, 403);
      const description = result.error?.description ?? '';
      assert.match(
        description,
        /no usable key record at leak\._domainkey\.evil\.example: a malformed record/,
      );
      assert.doesNotMatch(description, /password|hunter2|admin|\[db\]/);
      assert.match(String(logs.at(-1)?.detail), /password/, 'the log keeps it for the administrator');

      const closed = await send(receiver, forged('closed.example'));
      assert.match(closed.error?.description ?? '', /the key server internal\.corp\.example is unreachable/);
      assert.doesNotMatch(closed.error?.description ?? '', /ECONNREFUSED|127\.0\.0\.1|:9\b/);
    } finally {
      await receiver.close();
    }
  });
});

describe('key lookups cannot be turned into amplification or a stall', () => {
  let zone: ZoneServer;
  let dnsServer: string;
  let keyServer: InternalServer;
  const tarpits: InternalServer[] = [];

  /** A domain whose 4 key servers (SRV) accept connections and never answer. */
  const tarpitDomain = async (domain: string): Promise<InternalServer> => {
    const tarpit = await startInternalServer([`keys.${domain}`]);
    tarpit.answer = 'hold';
    tarpits.push(tarpit);
    for (let i = 0; i < 4; i++) {
      zone.addRecords({
        type: 'SRV',
        name: `_domainkey_lookup._tcp.${domain}`,
        priority: i,
        weight: 0,
        port: tarpit.port,
        target: `keys.${domain}.`,
      });
    }
    zone.addRecords({ type: 'A', name: `keys.${domain}`, address: '127.0.0.1' });
    return tarpit;
  };

  before(async () => {
    keyServer = await startInternalServer(['keys.peer.example']);
    const records: ZoneRecord[] = [
      {
        type: 'SRV',
        name: '_domainkey_lookup._tcp.peer.example',
        priority: 0,
        weight: 0,
        port: keyServer.port,
        target: 'keys.peer.example.',
      },
      { type: 'A', name: 'keys.peer.example', address: '127.0.0.1' },
    ];
    for (let i = 0; i < 40; i++) {
      records.push({
        type: 'SRV',
        name: '_domainkey_lookup._tcp.many.example',
        priority: 0,
        weight: 1,
        port: keyServer.port,
        target: 'keys.peer.example.',
      });
    }
    zone = new ZoneServer(records);
    dnsServer = (await zone.listen()).server;
  });
  after(async () => {
    await keyServer.close();
    for (const tarpit of tarpits) await tarpit.close();
    await zone.close();
  });

  const receiverWith = (limits: Record<string, number> = {}, metrics?: IScheduleMetrics) =>
    startReceiver({
      router: {
        ...(metrics && { metrics }),
        keys: defaultKeys({
          dns: { servers: [dnsServer] },
          ca: [keyServer.ca, ...tarpits.map((t) => t.ca)],
          allowNetworks: ['127.0.0.0/8'],
        }),
        limits,
      },
    });

  it('fetches a key document once for many requests, and remembers that there is none', async () => {
    const receiver = await receiverWith();
    try {
      keyServer.answer = {
        status: 200,
        type: 'text/plain',
        body: wellKnownBody([keyRecord(keys.jupiter.privateKey)]),
      };
      const before = keyServer.requests.length;
      for (let i = 0; i < 5; i++) {
        const result = await send(receiver, forged('peer.example', 'cached'));
        assert.equal(result.error?.code, 'verification-failed');
        assert.match(result.error?.description ?? '', /signature does not match/);
      }
      assert.equal(keyServer.requests.length - before, 1, 'one fetch for five requests');
      keyServer.answer = { status: 404, type: 'text/plain', body: '' };
      for (let i = 0; i < 5; i++) await send(receiver, forged('peer.example', 'absent'));
      assert.equal(keyServer.requests.length - before, 2, 'no key is remembered too');
    } finally {
      await receiver.close();
    }
  });

  it('counts key lookups for Prometheus: fetches with their latency, then cache hits, and failures', async () => {
    const metrics = new IScheduleMetrics();
    const receiver = await receiverWith({}, metrics);
    try {
      keyServer.answer = {
        status: 200,
        type: 'text/plain',
        body: wellKnownBody([keyRecord(keys.jupiter.privateKey)]),
      };
      for (let i = 0; i < 3; i++) await send(receiver, forged('peer.example', 'counted'));
      keyServer.answer = { status: 500, type: 'text/plain', body: '' };
      await send(receiver, forged('peer.example', 'failing'));
      const text = await metrics.registry.metrics();
      for (const line of [
        'ischedule_key_lookups_total{method="http/well-known",result="fetched"} 1',
        'ischedule_key_lookups_total{method="http/well-known",result="hit"} 2',
        'ischedule_key_lookups_total{method="http/well-known",result="failed"} 1',
        'ischedule_key_lookup_seconds_count{method="http/well-known"} 2',
      ])
        assert.ok(text.includes(line), `${line}\n---\n${text}`);
    } finally {
      await receiver.close();
    }
  });

  it('collapses concurrent lookups of one key into one fetch', async () => {
    const receiver = await receiverWith();
    try {
      keyServer.answer = { status: 404, type: 'text/plain', body: '', delay: 300 };
      const before = keyServer.requests.length;
      const results = await Promise.all(
        Array.from({ length: 20 }, () => send(receiver, forged('peer.example', 'together'))),
      );
      assert.ok(results.every((r) => r.status === 403));
      assert.equal(keyServer.requests.length - before, 1);
    } finally {
      await receiver.close();
    }
  });

  it('tries at most 3 of 40 SRV targets', async () => {
    const receiver = await receiverWith();
    try {
      keyServer.answer = { status: 500, type: 'text/plain', body: '' };
      const before = keyServer.requests.length;
      const result = await send(receiver, forged('many.example'));
      assert.equal(result.status, 403);
      const asked = keyServer.requests.length - before;
      assert.ok(asked <= 3, `${asked} key servers asked`);
    } finally {
      await receiver.close();
    }
  });

  it('gives the whole lookup one deadline, however many tar-pit servers', async () => {
    await tarpitDomain('slow.example');
    const receiver = await receiverWith({ keyLookupTimeout: 800 });
    try {
      const started = Date.now();
      const result = await send(receiver, forged('slow.example'));
      const elapsed = Date.now() - started;
      assert.equal(result.status, 403);
      assert.match(result.error?.description ?? '', /could not be found within 800 ms/);
      assert.ok(elapsed < 2000, `answered after ${elapsed} ms`);
    } finally {
      await receiver.close();
    }
  });

  it('stops looking up the key when the client hangs up', async () => {
    const tarpit = await tarpitDomain('hangup.example');
    const receiver = await receiverWith({ keyLookupTimeout: 4000 });
    try {
      const request = http.request(new URL('/.well-known/ischedule', receiver.url), {
        method: 'POST',
        headers: Object.fromEntries(forged('hangup.example')),
      });
      request.on('error', () => undefined);
      request.end(body);
      await waitFor(() => tarpit.log.length > 0, 2000);
      await assertLookupStopsOnHangUp(tarpit, () => request.destroy());
    } finally {
      await receiver.close();
    }
  });

  it('stops the lookup of a pipelined request when the client hangs up after an earlier answer', async () => {
    // Two requests in one write on one connection: the first is refused at once (unsigned), the
    // second waits on a key server. The first's end must take only itself off the connection's
    // list of requests in progress: the hang-up then still reaches the second.
    const tarpit = await tarpitDomain('pipelined.example');
    const receiver = await receiverWith({ keyLookupTimeout: 4000 });
    const { port } = new URL(receiver.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    try {
      const unsigned = draftHeaders();
      const wire = (headers: Headers) =>
        `POST /.well-known/ischedule HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n${headers
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join('')}\r\n`;
      socket.write(
        Buffer.concat([
          Buffer.from(wire(unsigned)),
          body,
          Buffer.from(wire(forged('pipelined.example'))),
          body,
        ]),
      );
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      await waitFor(() => /<\/(?:\w+:)?error>/.test(received) && tarpit.log.length > 0, 3000);
      assert.match(received, /^HTTP\/1\.1 403 /);
      await assertLookupStopsOnHangUp(tarpit, () => socket.destroy());
    } finally {
      socket.destroy();
      await receiver.close();
    }
  });

  it('caps concurrent key fetches per domain; the rest are told to retry (503, Retry-After)', async () => {
    const tarpit = await tarpitDomain('capped.example');
    const receiver = await receiverWith({ keyLookupTimeout: 1000 });
    try {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => send(receiver, forged('capped.example', `cap${i}`))),
      );
      const busy = results.filter((r) => r.status === 503);
      assert.ok(busy.length >= 4, results.map((r) => r.status).join());
      for (const r of busy) {
        assert.equal(r.error?.code, 'service-unavailable');
        assert.equal(r.headers['retry-after'], '5');
        assert.match(r.error?.description ?? '', /too many key lookups/);
      }
      assert.ok(tarpit.maxOpen <= 2, `${tarpit.maxOpen} connections at once`);
    } finally {
      await receiver.close();
    }
  });
});

/** Hangs up, and asserts the key server's connection closed within a second of it. */
async function assertLookupStopsOnHangUp(tarpit: InternalServer, hangUp: () => void): Promise<void> {
  const hungUp = Date.now();
  hangUp();
  const connection = tarpit.log[0]!;
  await waitFor(() => connection.closedAt !== undefined, 3000);
  assert.ok(connection.closedAt! - hungUp < 1000, 'the key server connection closed with the client');
}

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
