/**
 * A recipient's domain is untrusted: its DNS, its receiver's redirects and answers must not make
 * the client connect inside our own network, post elsewhere, or spend seconds reading XML.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildCapabilities, IScheduleClient } from '../support/api.js';
import { type Domains, startDomains } from '../support/domains.js';
import { keys } from '../support/fixtures.js';
import { type InternalServer, startInternalServer } from '../support/internal-server.js';

const invitation = (to: string) =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//test//EN',
    'METHOD:REQUEST',
    'BEGIN:VEVENT',
    'UID:untrusted-1@example.com',
    'DTSTAMP:20260101T000000Z',
    'DTSTART:20260105T100000Z',
    'DTEND:20260105T110000Z',
    'ORGANIZER:mailto:bernard@example.com',
    `ATTENDEE:${to}`,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');

describe('receivers found through DNS are reached only at public addresses', () => {
  let world: Domains;
  let internal: InternalServer;
  const hostsSeen: string[] = [];

  before(async () => {
    internal = await startInternalServer(['admin.corp.example']);
    world = await startDomains([
      { domain: 'example.com', key: keys.jupiter, users: ['mailto:bernard@example.com'] },
      {
        domain: 'example.org',
        key: keys.venus,
        users: ['mailto:cyrus@example.org'],
        hosts: ['cal2.example.org'],
        before: (app) => {
          app.use((req, _res, next) => {
            if (req.method === 'POST') hostsSeen.push(String(req.headers.host));
            next();
          });
          // The capabilities query is redirected to another host of the same domain.
          app.get('/.well-known/ischedule', (req, res, next) => {
            if (req.headers.host?.startsWith('cal2.')) return next();
            const port = world.domains['example.org']!.port;
            res.redirect(302, `https://cal2.example.org:${port}/.well-known/ischedule?action=capabilities`);
          });
        },
      },
    ]);
    const srv = (domain: string, target: string, port: number) => ({
      type: 'SRV' as const,
      name: `_ischedules._tcp.${domain}`,
      priority: 0,
      weight: 0,
      port,
      target,
    });
    world.zone.addRecords(
      srv('literal.test', '127.0.0.1.', internal.port),
      srv('inside.test', 'admin.corp.example.', internal.port),
      { type: 'A', name: 'admin.corp.example', address: '127.0.0.1' },
    );
  });
  after(async () => {
    await world.close();
    await internal.close();
  });

  const sendTo = (client: IScheduleClient, to: string) =>
    client.send({ originator: 'mailto:bernard@example.com', recipients: [to], calendar: invitation(to) });

  it('never connects to an SRV target that is an address, or whose name resolves to loopback', async () => {
    const client = world.client('example.com', { allowNetworks: [] });
    const [literal] = await sendTo(client, 'mailto:x@literal.test');
    assert.equal(literal?.outcome, 'no-receiver');
    const [inside] = await sendTo(client, 'mailto:x@inside.test');
    assert.equal(inside?.outcome, 'no-receiver', 'the host falls back to iMIP');
    assert.match(
      inside?.description ?? '',
      /admin\.corp\.example resolves only to addresses not allowed \(allowNetworks\): 127\.0\.0\.1 \(a loopback address\)/,
    );
    const [orgPeer] = await sendTo(client, 'mailto:cyrus@example.org');
    assert.equal(orgPeer?.outcome, 'no-receiver');
    assert.equal(internal.connections, 0);
  });

  it('reaches them when allowNetworks lists their network', async () => {
    const [delivered] = await sendTo(world.client('example.com'), 'mailto:cyrus@example.org');
    assert.equal(delivered?.outcome, 'delivered', delivered?.description);
  });

  it('follows a capabilities redirect within the domain, but posts to the receiver it discovered', async () => {
    hostsSeen.length = 0;
    const [delivered] = await sendTo(world.client('example.com'), 'mailto:cyrus@example.org');
    assert.equal(delivered?.outcome, 'delivered');
    assert.deepEqual(
      hostsSeen.map((h) => h.split(':')[0]),
      ['cal.example.org'],
      'the POST went to the discovered host, not where the capabilities query was redirected',
    );
  });
});

describe('redirects from a receiver', () => {
  let world: Domains;
  let internal: InternalServer;
  let redirectTo = '';

  before(async () => {
    internal = await startInternalServer(['evil.test']);
    world = await startDomains([
      { domain: 'example.com', key: keys.jupiter, users: ['mailto:bernard@example.com'] },
      {
        domain: 'example.org',
        key: keys.venus,
        users: ['mailto:cyrus@example.org'],
        hosts: ['ischedule.example.org'],
        before: (app) =>
          app.post('/.well-known/ischedule', (req, res, next) => {
            if (!redirectTo || req.headers.host?.startsWith('ischedule.')) return next();
            res.redirect(307, redirectTo.replace('PORT', String(world.domains['example.org']!.port)));
          }),
      },
    ]);
    world.zone.addRecords(
      { type: 'A', name: 'evil.test', address: '127.0.0.1' },
      // Inside the receiver's domain, but at an address the client below does not allow.
      { type: 'A', name: 'inner.example.org', address: '127.0.0.2' },
    );
  });
  after(async () => {
    await world.close();
    await internal.close();
  });

  const send = async (target: string, options: Parameters<Domains['client']>[1] = {}) => {
    redirectTo = target;
    const client = world.client('example.com', options);
    const [result] = await client.send({
      originator: 'mailto:bernard@example.com',
      recipients: ['mailto:cyrus@example.org'],
      calendar: invitation('mailto:cyrus@example.org'),
    });
    return result;
  };

  it('are followed to https on the same registrable domain', async () => {
    const result = await send('https://ischedule.example.org:PORT/.well-known/ischedule');
    assert.equal(result?.outcome, 'delivered', result?.description);
  });

  it('are refused to another domain, to http, or to an address, without connecting there', async () => {
    for (const [target, pattern] of [
      [
        `https://evil.test:${internal.port}/steal`,
        /redirected to evil\.test:\d+, outside example\.org \(refused\)/,
      ],
      [
        'http://ischedule.example.org:PORT/.well-known/ischedule',
        /redirected to http: \(only https is followed\)/,
      ],
      [`https://127.0.0.1:${internal.port}/`, /redirected to 127\.0\.0\.1:\d+, outside example\.org/],
    ] as const) {
      const result = await send(target);
      assert.equal(result?.outcome, 'refused', target);
      assert.equal(result?.code, '5.2');
      assert.match(result?.description ?? '', pattern);
    }
    assert.equal(internal.connections, 0);
  });

  it('within the domain still reach only allowed addresses', async () => {
    const result = await send('https://inner.example.org:PORT/.well-known/ischedule', {
      allowNetworks: ['127.0.0.1'],
    });
    assert.deepEqual([result?.outcome, result?.code], ['refused', '5.2']);
    assert.match(
      result?.description ?? '',
      /inner\.example\.org resolves only to addresses not allowed .*127\.0\.0\.2/,
    );
  });

  it('are followed to an origin the operator named (an override), which is trusted as named', async () => {
    const named = `https://127.0.0.1:${internal.port}`;
    const before = internal.requests.length;
    const result = await send(`${named}/named`, {
      overrides: { 'partner.test': `${named}/.well-known/ischedule` },
      tls: { ca: [...world.ca, internal.ca] },
    });
    assert.deepEqual(internal.requests.slice(before), ['/named'], 'the redirect reached the named origin');
    assert.notEqual(result?.outcome, 'refused');
  });
});

describe("a receiver's answers are bounded", () => {
  let server: http.Server;
  let base: string;
  let answer = '';
  before(async () => {
    const caps = buildCapabilities({
      serialNumber: 1,
      versions: ['1.0'],
      schedulingMessages: { VEVENT: [] },
      calendarDataTypes: [{ contentType: 'text/calendar', version: '2.0' }],
      attachments: { inline: false, external: true },
    });
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const body = req.method === 'GET' ? caps : answer;
        res.writeHead(200, { 'Content-Type': 'application/xml' }).end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const send = async (options: { maxResponseBytes?: number } = {}) => {
    const client = new IScheduleClient({
      signing: keys.jupiter,
      overrides: { 'example.org': `${base}/isched` },
      dns: { servers: ['127.0.0.1:9'] },
      ...options,
    });
    const started = performance.now();
    try {
      const [result] = await client.send({
        originator: 'mailto:bernard@example.com',
        recipients: ['mailto:cyrus@example.org'],
        calendar: invitation('mailto:cyrus@example.org'),
      });
      return { result, ms: performance.now() - started };
    } finally {
      client.close();
    }
  };

  it('reads at most 1 MiB of a schedule response by default, and few elements of one', async () => {
    const NS = 'urn:ietf:params:xml:ns:ischedule';
    answer = `<schedule-response xmlns="${NS}">${'<response><recipient>mailto:a@b.c</recipient><request-status>2.0</request-status></response>'.repeat(40_000)}</schedule-response>`;
    const large = await send();
    assert.equal(large.result?.outcome, 'temporary-failure');
    assert.match(large.result?.description ?? '', /over 1048576 octets/);
    assert.ok(large.ms < 1000, `${large.ms.toFixed(0)} ms`);
    const many = await send({ maxResponseBytes: 8 << 20 });
    assert.match(many.result?.description ?? '', /more than 32 elements/);
    assert.ok(many.ms < 1000, `${many.ms.toFixed(0)} ms`);
  });
});
