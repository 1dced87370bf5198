import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  IScheduleClient,
  IScheduleError,
  IScheduleMetrics,
  parseScheduleMessage,
  SetupError,
} from '../support/api.js';
import { type Domains, startDomains } from '../support/domains.js';
import { keys } from '../support/fixtures.js';

const netKey = { ...keys.jupiter, domain: 'example.net', selector: 'net' };

const event = (method: string, lines: string[]) =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//test//EN',
    `METHOD:${method}`,
    'BEGIN:VEVENT',
    'UID:meeting-1@example.com',
    'DTSTAMP:20260101T000000Z',
    'DTSTART:20260105T100000Z',
    'DTEND:20260105T110000Z',
    'SUMMARY:Planning',
    'ORGANIZER:mailto:bernard@example.com',
    ...lines,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');

const attendees = [
  'ATTENDEE;PARTSTAT=ACCEPTED:mailto:bernard@example.com',
  'ATTENDEE;RSVP=TRUE:mailto:cyrus@example.org',
  'ATTENDEE;RSVP=TRUE:mailto:mike@example.org',
  'ATTENDEE;RSVP=TRUE:mailto:nobody@example.org',
  'ATTENDEE;RSVP=TRUE:mailto:ken@example.net',
];

describe('IScheduleClient across domains on loopback (HTTPS, dns2)', () => {
  let world: Domains;
  before(async () => {
    world = await startDomains([
      { domain: 'example.com', key: keys.jupiter, users: ['mailto:bernard@example.com'] },
      {
        domain: 'example.org',
        key: keys.venus,
        users: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
        path: '/isched',
        router: { capabilities: { maxRecipients: 1 } },
      },
      {
        domain: 'example.net',
        key: netKey,
        users: ['mailto:ken@example.net'],
        router: { extraPaths: ['/ischedule'] },
        // POSTs to the well-known path are redirected: the client must re-POST, not GET.
        before: (app) => app.post('/.well-known/ischedule', (_req, res) => res.redirect(307, '/ischedule')),
      },
    ]);
    const down = world.domains['example.org']!.port;
    world.zone.addRecords(
      {
        type: 'SRV',
        name: '_ischedules._tcp.example.down',
        priority: 0,
        weight: 0,
        port: 1,
        target: 'cal.example.org.',
      },
      // Two targets: the first refuses connections, the second is example.org's receiver.
      {
        type: 'SRV',
        name: '_ischedules._tcp.example.two',
        priority: 0,
        weight: 0,
        port: 1,
        target: 'cal.example.org.',
      },
      {
        type: 'SRV',
        name: '_ischedules._tcp.example.two',
        priority: 5,
        weight: 0,
        port: down,
        target: 'cal.example.org.',
      },
      { type: 'TXT', name: '_ischedules._tcp.example.two', text: 'path=/isched' },
      { type: 'SRV', name: '_ischedules._tcp.example.off', priority: 0, weight: 0, port: 0, target: '.' },
      // A broken zone: a target that is no host name, beside a good one.
      {
        type: 'SRV',
        name: '_ischedules._tcp.example.odd',
        priority: 0,
        weight: 0,
        port: 443,
        target: 'not a host/..',
      },
      {
        type: 'SRV',
        name: '_ischedules._tcp.example.odd',
        priority: 1,
        weight: 0,
        port: down,
        target: 'cal.example.org.',
      },
      { type: 'TXT', name: '_ischedules._tcp.example.odd', text: 'path=/isched' },
    );
  });
  after(() => world.close());

  it('discovers receivers by SRV and TXT path=, and reads their capabilities', async () => {
    const client = world.client('example.com');
    const org = await client.discover('example.org');
    assert.equal(org?.urls[0]?.href, `https://cal.example.org:${world.domains['example.org']!.port}/isched`);
    const net = await client.discover('EXAMPLE.NET.');
    assert.equal(net?.urls[0]?.pathname, '/.well-known/ischedule');
    assert.equal(await client.discover('example.off'), undefined, '"." target: no service');
    assert.equal(await client.discover('example.none'), undefined);
    const odd = await client.discover('example.odd');
    assert.deepEqual(
      odd?.urls.map((u) => u.hostname),
      ['cal.example.org'],
      'a target that is no host name is skipped',
    );
    const caps = await client.getCapabilities(org!);
    assert.equal(caps.capabilities.maxRecipients, 1);
  });

  it('delivers a REQUEST to several recipients on two receivers, batching under max-recipients', async () => {
    const client = world.client('example.com');
    const recipients = [
      'mailto:cyrus@example.org',
      'mailto:mike@example.org',
      'mailto:nobody@example.org',
      'mailto:ken@example.net',
    ];
    const results = await client.send({
      originator: 'mailto:bernard@example.com',
      recipients,
      calendar: event('REQUEST', attendees),
    });
    assert.deepEqual(
      results.map((r) => [r.recipient, r.code, r.outcome]),
      [
        ['mailto:cyrus@example.org', '2.0', 'delivered'],
        ['mailto:mike@example.org', '2.0', 'delivered'],
        ['mailto:nobody@example.org', '3.7', 'refused'],
        ['mailto:ken@example.net', '2.0', 'delivered'],
      ],
    );
    // ken's went to /.well-known/ischedule, was redirected with 307 and re-POSTed to /ischedule.
    assert.match(results[3]?.receiver ?? '', /\/ischedule$/);
    // One POST per recipient (max-recipients 1), sent at once: they may arrive in either order.
    assert.deepEqual(world.domains['example.org']!.delivered.map((d) => d.recipient).sort(), [
      'mailto:cyrus@example.org',
      'mailto:mike@example.org',
    ]);
    assert.equal(world.domains['example.net']!.delivered.length, 1);
  });

  it('keeps a given messageId on every retry: the receiver delivers each recipient once', async () => {
    const client = world.client('example.com');
    const delivered = world.domains['example.org']!.delivered;
    const before = delivered.length;
    const send = () =>
      client.send({
        originator: 'mailto:bernard@example.com',
        // Two recipients over a receiver taking one per POST: two batches, each its own id.
        recipients: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
        calendar: event('REQUEST', attendees),
        messageId: 'retried-1@example.com',
      });
    const first = await send();
    const again = await send();
    assert.deepEqual(
      first.map((r) => r.requestStatus),
      ['2.0;Success', '2.0;Success'],
    );
    assert.deepEqual(
      again.map((r) => [r.outcome, r.description]),
      [
        ['delivered', 'already received: Delivered to recipient'],
        ['delivered', 'already received: Delivered to recipient'],
      ],
    );
    assert.equal(delivered.length - before, 2, 'delivered once each');
    assert.deepEqual(
      client.check({
        originator: 'mailto:bernard@example.com',
        recipients: ['mailto:cyrus@example.org'],
        calendar: event('REQUEST', attendees),
      }),
      { uid: 'meeting-1@example.com' },
    );
    await assert.rejects(
      client.send({
        originator: 'mailto:bernard@example.com',
        recipients: ['mailto:cyrus@example.org'],
        calendar: event('REQUEST', attendees),
        messageId: 'two words',
      }),
      { name: 'OptionsError', path: 'messageId' },
    );
  });

  it('carries a REPLY, a COUNTER and a CANCEL', async () => {
    const orgClient = world.client('example.org');
    const reply = event('REPLY', ['ATTENDEE;PARTSTAT=ACCEPTED:mailto:cyrus@example.org']);
    const replied = await orgClient.send({
      originator: 'mailto:cyrus@example.org',
      recipients: ['mailto:bernard@example.com'],
      calendar: reply,
    });
    assert.equal(replied[0]?.outcome, 'delivered', replied[0]?.description);
    const counter = event('COUNTER', ['ATTENDEE:mailto:cyrus@example.org'])
      .replace('DTSTART:20260105T100000Z', 'DTSTART:20260105T120000Z')
      .replace('DTEND:20260105T110000Z', 'DTEND:20260105T130000Z');
    const countered = await orgClient.send({
      originator: 'mailto:cyrus@example.org',
      recipients: ['mailto:bernard@example.com'],
      calendar: counter,
    });
    assert.equal(countered[0]?.outcome, 'delivered');
    const cancel = event('CANCEL', attendees.slice(0, 2)).replace(
      'END:VEVENT',
      'STATUS:CANCELLED\r\nEND:VEVENT',
    );
    const cancelled = await world.client('example.com').send({
      originator: 'mailto:bernard@example.com',
      recipients: ['mailto:cyrus@example.org'],
      calendar: cancel,
    });
    assert.equal(cancelled[0]?.outcome, 'delivered');
    const methods = world.domains['example.com']!.delivered.map((d) => d.message.method);
    assert.deepEqual(methods.slice(-2), ['REPLY', 'COUNTER']);
    assert.equal(world.domains['example.org']!.delivered.at(-1)?.message.method, 'CANCEL');
  });

  it('runs a free-busy query across several recipients and two receivers, one VFREEBUSY per batch', async () => {
    const freebusy = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//test//EN',
      'METHOD:REQUEST',
      'BEGIN:VFREEBUSY',
      'UID:fb-1@example.com',
      'DTSTAMP:20260101T000000Z',
      'DTSTART:20260105T000000Z',
      'DTEND:20260106T000000Z',
      'ORGANIZER:mailto:bernard@example.com',
      'ATTENDEE:mailto:cyrus@example.org',
      'ATTENDEE:mailto:mike@example.org',
      'ATTENDEE:mailto:ken@example.net',
      'END:VFREEBUSY',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
    const recipients = ['mailto:cyrus@example.org', 'mailto:mike@example.org', 'mailto:ken@example.net'];
    const results = await world
      .client('example.com')
      .send({ originator: 'mailto:bernard@example.com', recipients, calendar: freebusy });
    for (const result of results) {
      assert.equal(result.outcome, 'delivered', `${result.recipient}: ${result.description}`);
      const reply = parseScheduleMessage(result.calendarData ?? '');
      assert.equal(reply.method, 'REPLY');
      assert.deepEqual(reply.attendees, [result.recipient]);
      assert.match(result.calendarData ?? '', /FREEBUSY;FBTYPE=BUSY:20260105T010000Z\/20260105T020000Z\r\n/);
    }
  });

  it('says which domains have no receiver (fall back to iMIP) and which are down (retry later)', async () => {
    const client = world.client('example.com', { attempts: 2, timeout: 2000 });
    const calendar = event('REQUEST', [
      ...attendees,
      'ATTENDEE:mailto:a@example.none',
      'ATTENDEE:mailto:b@example.down',
      'ATTENDEE:mailto:cyrus@example.two',
    ]);
    const results = await client.send({
      originator: 'mailto:bernard@example.com',
      recipients: ['mailto:a@example.none', 'mailto:b@example.down', 'mailto:cyrus@example.two'],
      calendar,
    });
    assert.deepEqual(
      results.map((r) => [r.recipient, r.outcome]),
      [
        ['mailto:a@example.none', 'no-receiver'],
        ['mailto:b@example.down', 'temporary-failure'],
        // The first SRV target refused the connection; the second answered (3.7: not its user).
        ['mailto:cyrus@example.two', 'refused'],
      ],
    );
    assert.equal(results[1]?.code, '5.1');
    assert.equal(results[2]?.code, '3.7');
  });

  it('reports a DNS failure and an unusable capabilities document as temporary failures', async () => {
    const deaf = world.client('example.com', { dns: { servers: ['127.0.0.1:9'], timeout: 200 } });
    const [lost] = await deaf.send({
      originator: 'mailto:bernard@example.com',
      recipients: ['mailto:cyrus@example.org'],
      calendar: event('REQUEST', attendees),
    });
    assert.equal(lost?.outcome, 'temporary-failure');
    assert.match(lost?.description ?? '', /DNS lookup for example\.org failed/);
    // A receiver whose capabilities query answers HTML.
    world.zone.addRecords(
      {
        type: 'SRV',
        name: '_ischedules._tcp.example.html',
        priority: 0,
        weight: 0,
        port: world.domains['example.org']!.port,
        target: 'cal.example.org.',
      },
      { type: 'TXT', name: '_ischedules._tcp.example.html', text: 'path=/not-ischedule' },
    );
    const calendar = event('REQUEST', [...attendees, 'ATTENDEE:mailto:x@example.html']);
    const [html] = await world
      .client('example.com')
      .send({ originator: 'mailto:bernard@example.com', recipients: ['mailto:x@example.html'], calendar });
    assert.equal(html?.outcome, 'temporary-failure');
    assert.match(html?.description ?? '', /receiver failed: .*(capabilities|HTTP 404)/);
  });

  it('refuses before any network I/O what the sender-side rules forbid', async () => {
    const client = world.client('example.com');
    const before = client.stats;
    const forwarded = client.send({
      originator: 'mailto:cyrus@example.org',
      recipients: ['mailto:mike@example.org'],
      calendar: event('REQUEST', attendees),
    });
    await assert.rejects(
      forwarded,
      (e: unknown) => e instanceof IScheduleError && /not the ORGANIZER/.test(e.message),
    );
    const twoRepliers = client.send({
      originator: 'mailto:bernard@example.com',
      recipients: ['mailto:cyrus@example.org'],
      calendar: event('REPLY', attendees),
    });
    await assert.rejects(twoRepliers, IScheduleError);
    const unsigned = client.send({
      originator: 'mailto:x@example.edu',
      recipients: ['mailto:cyrus@example.org'],
      calendar: event('REQUEST', attendees)
        .replace('ORGANIZER:mailto:bernard@example.com', 'ORGANIZER:mailto:x@example.edu')
        .replace('END:VEVENT', 'END:VEVENT'),
    });
    // Our own setup, not an iSchedule refusal: a SetupError, never originator-denied.
    await assert.rejects(unsigned, (error: unknown) => {
      assert.ok(error instanceof SetupError && !(error instanceof IScheduleError), String(error));
      assert.equal(error.code, 'no-signing-key');
      assert.match(error.message, /no signing key covers mailto:x@example\.edu/);
      return true;
    });
    await assert.rejects(
      client.send({
        originator: 'mailto:bernard@example.com',
        recipients: [],
        calendar: event('REQUEST', attendees),
      }),
      IScheduleError,
    );
    await assert.rejects(
      client.send({
        originator: 'mailto:bernard@example.com',
        recipients: ['mailto:cyrus@example.org'],
        calendar: 'nope',
      }),
      IScheduleError,
    );
    assert.deepEqual(client.stats, before);
    const keyless = new IScheduleClient({ dns: { servers: [world.dnsServer] } });
    await assert.rejects(
      keyless.send({
        originator: 'mailto:bernard@example.com',
        recipients: ['mailto:cyrus@example.org'],
        calendar: event('REQUEST', attendees),
      }),
      { name: 'SetupError', code: 'no-signing-key', message: /this client has no signing key/ },
    );
    keyless.close();
  });

  it('needs no DNS query nor capabilities GET in steady state, and reloads on a new serial', async () => {
    const metrics = new IScheduleMetrics();
    const client = world.client('example.com', { metrics });
    const send = () =>
      client.send({
        originator: 'mailto:bernard@example.com',
        recipients: ['mailto:cyrus@example.org'],
        calendar: event('REQUEST', attendees),
      });
    await send();
    const warm = client.stats;
    for (let i = 0; i < 5; i++) assert.equal((await send())[0]?.outcome, 'delivered');
    assert.equal(client.stats.dnsQueries, warm.dnsQueries);
    assert.equal(client.stats.capabilityFetches, warm.capabilityFetches);
    const text = await metrics.registry.metrics();
    for (const line of [
      'ischedule_capabilities_lookups_total{result="fetched"} 1',
      'ischedule_capabilities_lookups_total{result="hit"} 5',
      'ischedule_capabilities_fetch_seconds_count 1',
    ])
      assert.ok(text.includes(line), `${line}\n---\n${text}`);
  });

  it('verifies TLS: an unknown certificate is a temporary failure, never a silent success', async () => {
    const client = world.client('example.com', { tls: {}, attempts: 1 });
    const results = await client.send({
      originator: 'mailto:bernard@example.com',
      recipients: ['mailto:cyrus@example.org'],
      calendar: event('REQUEST', attendees),
    });
    assert.equal(results[0]?.outcome, 'temporary-failure');
    assert.match(results[0]?.description ?? '', /certificate/i);
  });
});
