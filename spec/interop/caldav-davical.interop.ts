/**
 * The CalDAV gateway's adapter against DAViCal 1.1.12 from Debian, a server that can say what
 * Radicale cannot: who has a calendar address (principal-property-search on
 * calendar-user-address-set), a scheduling inbox (RFC 6638), and a free-busy-query REPORT.
 * `peers.sh start davical` (.ci/run does it); not part of the hermetic `npm test`.
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { caldavAdapter, parseScheduleMessage } from '../support/api.js';
import { ics, vevent } from '../support/calendar-text.js';
import { INTEROP } from './davical-send.js';

const ROOT = process.env.ISCHEDULE_PEERS_ROOT ?? path.join(process.env.TMPDIR ?? '/tmp', 'ischedule-peers');
const DAVICAL = `http://127.0.0.1:${process.env.DAVICAL_PORT ?? 8009}/`;
const ready = existsSync(path.join(ROOT, 'davical', 'dkim-public.b64'));
const needsPeers = ready ? {} : { skip: `DAViCal peer not started; run ${INTEROP}/peers.sh start davical` };

const ERIN = 'mailto:erin@davical.test';
const ALICE = 'mailto:alice@a.example';
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${user}`).toString('base64')}`;

describe('caldavAdapter against DAViCal', needsPeers, () => {
  // Each user signs in as themselves (no service account); searches go as dave.
  const adapter = caldavAdapter({
    url: DAVICAL,
    credentials: (target) =>
      target.includes('/erin/')
        ? { username: 'erin', password: 'erin' }
        : { username: 'dave', password: 'dave' },
  });
  const signal = new AbortController().signal;
  const request = {} as never;

  it('finds a user the server knows, with its scheduling inbox apart from its calendars', async () => {
    const erin = await adapter.lookupUser({ address: ERIN, request, signal });
    assert.ok(erin, 'found by principal-property-search, with no table configured');
    assert.ok(erin.inbox?.endsWith('/erin/.in/'), erin.inbox);
    assert.deepEqual(
      erin.calendars.map((c) => c.replace(/^.*\/erin\//, '')),
      ['calendar/'],
      'the scheduling inbox and outbox are not calendars',
    );
    assert.equal(await adapter.lookupUser({ address: 'mailto:nobody@davical.test', request, signal }), null);
  });

  it('delivers into the scheduling inbox, and answers free-busy from the free-busy-query REPORT', async () => {
    const erin = (await adapter.lookupUser({ address: ERIN, request, signal }))!;
    const uid = `gateway-${randomUUID()}`;
    const invitation = ics(
      vevent(
        `UID:${uid}`,
        'DTSTAMP:20261201T000000Z',
        'DTSTART:20300110T100000Z',
        'DTEND:20300110T110000Z',
        'SUMMARY:Through the inbox',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE:${ERIN}`,
      ),
      'REQUEST',
    );
    const message = parseScheduleMessage(invitation);
    assert.equal(
      await adapter.deliverToInbox({
        recipient: ERIN,
        user: erin,
        originator: ALICE,
        message,
        request,
        signal,
      }),
      undefined,
    );
    const inbox = await fetch(new URL(erin.inbox!, DAVICAL), {
      method: 'REPORT',
      headers: { Authorization: basic('erin'), Depth: '1', 'Content-Type': 'application/xml' },
      body:
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>' +
        '<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>',
    });
    assert.match(await inbox.text(), new RegExp(uid), 'the message is in her scheduling inbox');

    // Her own busy time, saved by her client in her calendar: on a day of its own, since a
    // peer's database may outlive one run (and removed after).
    const day = new Date(Date.UTC(2030, 0, 1) + randomInt(0, 3650) * 86_400_000);
    const at = (hour: number) => new Date(day.getTime() + hour * 3_600_000);
    const stamp = (date: Date) => `${date.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
    const busyUid = `busy-${randomUUID()}`;
    const object = new URL(`${erin.calendars[0]}${busyUid}.ics`, DAVICAL);
    const saved = await fetch(object, {
      method: 'PUT',
      headers: { Authorization: basic('erin'), 'Content-Type': 'text/calendar' },
      body: ics(
        vevent(
          `UID:${busyUid}`,
          'DTSTAMP:20261201T000000Z',
          `DTSTART:${stamp(at(13))}`,
          `DTEND:${stamp(at(15))}`,
        ),
      ),
    });
    assert.ok(saved.status < 300, `PUT answered ${saved.status}`);
    try {
      const busy = await adapter.getFreeBusy({
        recipient: ERIN,
        user: erin,
        originator: ALICE,
        start: day,
        end: at(24),
        message,
        request,
        signal,
      });
      assert.deepEqual(
        busy.map((p) => [new Date(p.start).toISOString(), new Date(p.end).toISOString(), p.type]),
        [[at(13).toISOString(), at(15).toISOString(), 'BUSY']],
      );
    } finally {
      await fetch(object, { method: 'DELETE', headers: { Authorization: basic('erin') } });
    }
  });
});
