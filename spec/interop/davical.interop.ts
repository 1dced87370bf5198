/**
 * Against DAViCal 1.1.12 from Debian (draft -01), both directions, with the -01 profile on:
 * `peers.sh start davical` (.ci/run does it). DAViCal routes `remote.test` to our receiver on
 * CAPTURE_PORT (default 8010) and knows `sel._domainkey.remote.test`; we are remote.test here.
 * Not part of the hermetic `npm test`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ZoneServer } from '../../lib/dns/zone-server.js';
import { createIScheduleHandler, IScheduleClient } from '../support/api.js';
import { startReceiver } from '../support/receiver.js';
import { davicalSend, INTEROP } from './davical-send.js';

const ROOT = process.env.ISCHEDULE_PEERS_ROOT ?? path.join(process.env.TMPDIR ?? '/tmp', 'ischedule-peers');
const DAVICAL = `http://127.0.0.1:${process.env.DAVICAL_PORT ?? 8009}`;
const CALLBACK_PORT = Number(process.env.CAPTURE_PORT ?? 8010);
const DAVICAL_KEY = path.join(ROOT, 'davical', 'dkim-public.b64');
const REMOTE_KEY = path.join(ROOT, 'keys', 'remote-private.pem');
const ready = existsSync(DAVICAL_KEY) && existsSync(REMOTE_KEY);
const needsPeers = ready
  ? {}
  : { skip: `DAViCal peer not started (no ${DAVICAL_KEY}); run ${INTEROP}/peers.sh start davical` };

const remoteKey = () => ({
  domain: 'remote.test',
  selector: 'sel',
  privateKey: readFileSync(REMOTE_KEY, 'utf8'),
});
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${user}`).toString('base64')}`;

function event(uid: string, organizer: string, attendees: readonly string[], method?: string): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//express-ischedule interop//EN',
    ...(method ? [`METHOD:${method}`] : []),
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20261201T000000Z',
    'DTSTART:20270105T100000Z',
    'DTEND:20270105T110000Z',
    'SUMMARY:Interop with DAViCal',
    `ORGANIZER:${organizer}`,
    `ATTENDEE;PARTSTAT=ACCEPTED:${organizer}`,
    ...attendees.map((a) => `ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:${a}`),
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

/** The iCalendar objects in a DAViCal user's scheduling inbox, read over CalDAV. */
async function inbox(user: string): Promise<string[]> {
  const listing = await fetch(`${DAVICAL}/caldav.php/${user}/.in/`, {
    method: 'PROPFIND',
    headers: { authorization: basic(user), depth: '1' },
  });
  assert.equal(listing.status, 207);
  const hrefs = [...(await listing.text()).matchAll(/<href>([^<]+\.ics)<\/href>/g)].map((m) => m[1]!);
  return Promise.all(
    hrefs.map(async (href) =>
      (await fetch(`${DAVICAL}${href}`, { headers: { authorization: basic(user) } })).text(),
    ),
  );
}

/** iCalendar unfolded, for matching properties that DAViCal folds. */
const unfold = (text: string) => text.replace(/\r?\n[ \t]/g, '');

describe('we send to DAViCal (draft -01 profile)', needsPeers, () => {
  const client = ready
    ? new IScheduleClient({
        signing: remoteKey(),
        overrides: { 'davical.test': `${DAVICAL}/.well-known/ischedule` },
        dns: { servers: ['127.0.0.1:9'] },
        draft01Peers: ['davical.test'],
      })
    : undefined;
  after(() => client?.close());

  it('delivers an invitation for two users: 2.0 for each, and it lands in both inboxes', async () => {
    const uid = `to-davical-${randomUUID()}`;
    const recipients = ['mailto:dave@davical.test', 'mailto:erin@davical.test'];
    const results = await client!.send({
      originator: 'mailto:frank@remote.test',
      recipients,
      calendar: event(uid, 'mailto:frank@remote.test', recipients, 'REQUEST'),
    });
    assert.deepEqual(
      results.map((r) => [r.recipient, r.code, r.outcome]),
      recipients.map((r) => [r, '2.0', 'delivered']),
    );
    for (const user of ['dave', 'erin']) {
      const found = (await inbox(user)).filter((ics) => ics.includes(`UID:${uid}`));
      assert.equal(found.length, 1, `${user}'s inbox`);
      assert.match(unfold(found[0]!), /ORGANIZER:mailto:frank@remote\.test/);
    }
    const cached = await client!.getCapabilities(new URL(`${DAVICAL}/.well-known/ischedule`), 'davical.test');
    assert.equal(cached.capabilities.revision, 'draft-01');
    assert.equal(cached.capabilities.maxRecipients, 250);
  });

  it('asks for free-busy and gets DAViCal busy time back', async () => {
    const uid = `busy-${randomUUID()}`;
    // Something to be busy with: an event in dave's own calendar.
    const put = await fetch(`${DAVICAL}/caldav.php/dave/calendar/${uid}.ics`, {
      method: 'PUT',
      headers: { authorization: basic('dave'), 'content-type': 'text/calendar' },
      body: event(uid, 'mailto:dave@davical.test', [])
        .replace('20270105T10', '20270106T14')
        .replace('20270105T11', '20270106T15'),
    });
    assert.equal(put.status, 201);
    const request = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//express-ischedule interop//EN',
      'METHOD:REQUEST',
      'BEGIN:VFREEBUSY',
      `UID:fb-${uid}`,
      'DTSTAMP:20261201T000000Z',
      'DTSTART:20270106T000000Z',
      'DTEND:20270107T000000Z',
      'ORGANIZER:mailto:frank@remote.test',
      'ATTENDEE:mailto:dave@davical.test',
      'END:VFREEBUSY',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
    const [result] = await client!.send({
      originator: 'mailto:frank@remote.test',
      recipients: ['mailto:dave@davical.test'],
      calendar: request,
    });
    assert.equal(result?.code, '2.0', result?.description);
    assert.match(result?.calendarData ?? '', /FREEBUSY[^:\r\n]*:20270106T140000Z\/20270106T150000Z/);
  });

  it('without the profile, says what to list and delivers nothing', async () => {
    const strict = new IScheduleClient({
      signing: remoteKey(),
      overrides: { 'davical.test': `${DAVICAL}/.well-known/ischedule` },
      dns: { servers: ['127.0.0.1:9'] },
    });
    try {
      const uid = `strict-${randomUUID()}`;
      const [result] = await strict.send({
        originator: 'mailto:frank@remote.test',
        recipients: ['mailto:dave@davical.test'],
        calendar: event(uid, 'mailto:frank@remote.test', ['mailto:dave@davical.test'], 'REQUEST'),
      });
      assert.notEqual(result?.outcome, 'delivered');
      assert.match(result?.description ?? '', /draft01Peers/);
      assert.equal((await inbox('dave')).filter((ics) => ics.includes(uid)).length, 0);
    } finally {
      strict.close();
    }
  });
});

describe('DAViCal sends to us (draft -01 profile)', needsPeers, () => {
  const delivered: Array<{ recipient: string; originator: string; uid: string; method: string }> = [];
  let server: http.Server;
  let zone: ZoneServer;

  before(async () => {
    // DAViCal signs d=davical.test s=cal and names q=dns/txt: its key, from a loopback DNS.
    const published = readFileSync(DAVICAL_KEY, 'utf8').trim();
    zone = new ZoneServer([
      { type: 'TXT', name: 'cal._domainkey.davical.test', text: `v=DKIM1; k=rsa; p=${published}` },
    ]);
    const dns = (await zone.listen()).server;
    const handler = createIScheduleHandler<string>({
      domains: ['remote.test'],
      draft01Peers: ['davical.test'],
      dns: { servers: [dns] },
      signing: remoteKey(),
      adapter: {
        lookupUser: ({ address }) => (address.toLowerCase() === 'mailto:frank@remote.test' ? 'frank' : null),
        deliverToInbox: ({ recipient, originator, message }) => {
          delivered.push({ recipient, originator, uid: message.uid, method: message.method });
        },
        getFreeBusy: () => [],
      },
    });
    server = http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(CALLBACK_PORT, '127.0.0.1', resolve);
    });
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await zone?.close();
  });

  it('an invitation PUT at DAViCal is verified and delivered here, and DAViCal records 2.0', async () => {
    const uid = `from-davical-${randomUUID()}`;
    const href = `${DAVICAL}/caldav.php/dave/calendar/${uid}.ics`;
    const put = await fetch(href, {
      method: 'PUT',
      headers: { authorization: basic('dave'), 'content-type': 'text/calendar' },
      body: event(uid, 'mailto:dave@davical.test', ['mailto:frank@remote.test']),
    });
    assert.equal(put.status, 201);
    assert.deepEqual(
      delivered.filter((d) => d.uid === uid),
      [
        {
          recipient: 'mailto:frank@remote.test',
          originator: 'mailto:dave@davical.test',
          uid,
          method: 'REQUEST',
        },
      ],
    );
    const stored = unfold(await (await fetch(href, { headers: { authorization: basic('dave') } })).text());
    assert.match(stored, /ATTENDEE;[^\r\n]*SCHEDULE-STATUS="?2\.0[^\r\n]*:mailto:frank@remote\.test/);
  });
});

describe(
  'a second draft -01 signer (the harness script davical_send.py) agrees with our verifier',
  needsPeers,
  () => {
    it('its request is verified and delivered when its domain is in draft01Peers', async () => {
      // The test keys by every q= method, dns/txt included (the script names only that one).
      const receiver = await startReceiver({ router: { draft01Peers: ['example.com'] } });
      try {
        const stdout = await davicalSend(`${receiver.url}/.well-known/ischedule`, 'cyrus@example.org');
        assert.match(stdout, /<<< 200/);
        assert.match(stdout, /<recipient>cyrus@example\.org<\/recipient>/);
        assert.deepEqual(
          receiver.delivered.map((d) => d.recipient),
          ['mailto:cyrus@example.org'],
        );
      } finally {
        await receiver.close();
      }
    });
  },
);
