/**
 * The CalDAV adapter's inbound side against a live Radicale (a plain CalDAV server without a
 * scheduling inbox): deliveries applied to the recipient's calendar as their agent would, never
 * over a user's own change, and free-busy from their events.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type CaldavUser,
  caldavAdapter,
  type IScheduleAdapter,
  parseScheduleMessage,
} from '../support/api.js';
import { ics, unfolded, vevent } from '../support/calendar-text.js';
import { racingProxy } from '../support/racing-proxy.js';
import { radicaleUnavailable, startRadicale, type TestRadicale } from '../support/radicale.js';

const skip = radicaleUnavailable();

const BOB = 'mailto:bob@b.example';
const CAROL = 'mailto:carol@b.example';
const ALICE = 'mailto:alice@a.example';
const MALLORY = 'mailto:mallory@m.example';

/** A REQUEST from alice inviting bob (and carol). */
function invitation(uid: string, extra: string[] = [], { sequence = 0, stamp = '20261201T100000Z' } = {}) {
  return ics(
    vevent(
      `UID:${uid}`,
      `DTSTAMP:${stamp}`,
      `SEQUENCE:${sequence}`,
      'DTSTART:20261210T100000Z',
      'DTEND:20261210T110000Z',
      'SUMMARY:Planning',
      `ORGANIZER:${ALICE}`,
      `ATTENDEE;PARTSTAT=ACCEPTED:${ALICE}`,
      `ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${BOB}`,
      ...extra,
    ),
    'REQUEST',
  );
}

describe('caldavAdapter against Radicale (inbound)', { skip }, () => {
  let radicale: TestRadicale;
  let adapter: IScheduleAdapter<CaldavUser>;
  const signal = new AbortController().signal;
  const request = {} as never;

  before(async () => {
    radicale = await startRadicale();
    adapter = caldavAdapter({
      url: radicale.url,
      username: 'gateway',
      password: 'gateway',
      users: { [BOB]: '/bob/', [CAROL]: '/carol/', 'mailto:alice@b.example': '/bob/' },
    });
  });
  after(() => radicale?.close());

  const user = async (address: string) => {
    const found = await adapter.lookupUser({ address, request, signal });
    assert.ok(found, address);
    return found;
  };
  const deliver = async (address: string, text: string, originator = ALICE) =>
    adapter.deliverToInbox({
      recipient: address,
      user: await user(address),
      originator,
      message: parseScheduleMessage(text),
      request,
      signal,
    });
  const stored = async (owner: string, uid: string) => {
    const response = await radicale.request(owner, 'GET', `/${owner}/calendar/${uid}.ics`);
    return response.status === 200 ? unfolded(await response.text()) : undefined;
  };
  const putAsUser = async (owner: string, uid: string, text: string) => {
    const response = await radicale.request(owner, 'PUT', `/${owner}/calendar/${uid}.ics`, {
      body: text,
      headers: { 'Content-Type': 'text/calendar' },
    });
    assert.ok(response.status < 300, `PUT answered ${response.status}`);
  };

  it('finds users from the configured table, with their calendars; unknown ones are nobody', async () => {
    const bob = await user(BOB);
    assert.deepEqual(bob.calendars, ['/bob/calendar/']);
    assert.equal(bob.inbox, undefined, 'Radicale has no scheduling inbox');
    assert.equal(await adapter.lookupUser({ address: 'mailto:nobody@b.example', request, signal }), null);
  });

  it('a REQUEST creates the event in the recipient calendar, readable by plain CalDAV', async () => {
    assert.equal(await deliver(BOB, invitation('create-1')), undefined);
    const event = await stored('bob', 'create-1');
    assert.ok(event, 'the event is in /bob/calendar/');
    assert.match(event, /SUMMARY:Planning/);
    assert.match(event, /ORGANIZER:mailto:alice@a\.example/);
    assert.doesNotMatch(event, /METHOD:/, 'a stored object carries no METHOD');
  });

  it("an update keeps the attendee's answer and alarms unless the time changed", async () => {
    await deliver(BOB, invitation('update-1'));
    // Bob accepts in his own client and adds an alarm.
    const mine = (await stored('bob', 'update-1'))!
      .replace(`ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${BOB}`, `ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`)
      .replace(
        'END:VEVENT',
        'BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:soon\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT',
      );
    await putAsUser('bob', 'update-1', mine);

    // A new title only: his answer and his alarm stay.
    const retitled = invitation('update-1', [], { sequence: 0, stamp: '20261201T110000Z' }).replace(
      'SUMMARY:Planning',
      'SUMMARY:Planning (room 2)',
    );
    assert.equal(await deliver(BOB, retitled), undefined);
    let event = (await stored('bob', 'update-1'))!;
    assert.match(event, /SUMMARY:Planning \(room 2\)/);
    assert.match(event, /ATTENDEE[^\r\n]*PARTSTAT=ACCEPTED[^\r\n]*:mailto:bob@b\.example/);
    assert.match(event, /TRIGGER:-PT5M/);

    // A new time: he is asked again.
    const moved = invitation('update-1', [], { sequence: 1, stamp: '20261201T120000Z' }).replace(
      'DTSTART:20261210T100000Z',
      'DTSTART:20261210T090000Z',
    );
    assert.equal(await deliver(BOB, moved), undefined);
    event = (await stored('bob', 'update-1'))!;
    assert.match(event, /DTSTART:20261210T090000Z/);
    assert.match(event, /ATTENDEE[^\r\n]*PARTSTAT=NEEDS-ACTION[^\r\n]*:mailto:bob@b\.example/);
    assert.match(event, /TRIGGER:-PT5M/, 'the alarm is his, whatever the organizer changes');
  });

  it('an older REQUEST does not overwrite a newer copy', async () => {
    await deliver(BOB, invitation('older-1', [], { sequence: 2 }));
    const before = await stored('bob', 'older-1');
    const result = await deliver(
      BOB,
      invitation('older-1', [], { sequence: 1, stamp: '20261202T000000Z' }).replace('Planning', 'Stale'),
    );
    assert.equal(typeof result === 'object' && result?.requestStatus, '2.0;Success');
    assert.equal(await stored('bob', 'older-1'), before);
  });

  it('someone else cannot take over an event by its UID (3.8)', async () => {
    await deliver(BOB, invitation('owned-1'));
    const before = await stored('bob', 'owned-1');
    const hijack = invitation('owned-1', [], { sequence: 5 })
      .replace(`ORGANIZER:${ALICE}`, `ORGANIZER:${MALLORY}`)
      .replace(`ATTENDEE;PARTSTAT=ACCEPTED:${ALICE}`, `ATTENDEE;PARTSTAT=ACCEPTED:${MALLORY}`);
    const result = await deliver(BOB, hijack, MALLORY);
    assert.equal(typeof result === 'object' && result?.requestStatus, '3.8;No authority');
    assert.equal(await stored('bob', 'owned-1'), before);
  });

  it('a CANCEL of one instance removes that instance; of the event, the event', async () => {
    await deliver(BOB, invitation('series-1', ['RRULE:FREQ=DAILY;COUNT=5']));
    const cancelOne = ics(
      vevent(
        'UID:series-1',
        'DTSTAMP:20261201T130000Z',
        'SEQUENCE:1',
        'RECURRENCE-ID:20261212T100000Z',
        'DTSTART:20261212T100000Z',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE:${BOB}`,
        'STATUS:CANCELLED',
      ),
      'CANCEL',
    );
    assert.equal(await deliver(BOB, cancelOne), undefined);
    assert.match((await stored('bob', 'series-1'))!, /EXDATE:20261212T100000Z/);
    const busy = await adapter.getFreeBusy({
      recipient: BOB,
      user: await user(BOB),
      originator: ALICE,
      start: new Date('2026-12-10T00:00:00Z'),
      end: new Date('2026-12-20T00:00:00Z'),
      message: parseScheduleMessage(invitation('fb-probe')),
      request,
      signal,
    });
    const days = busy.map((p) => new Date(p.start).toISOString().slice(0, 10));
    assert.ok(days.includes('2026-12-11') && !days.includes('2026-12-12'), days.join(' '));

    const cancelAll = ics(
      vevent(
        'UID:series-1',
        'DTSTAMP:20261201T140000Z',
        'SEQUENCE:2',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE:${BOB}`,
      ),
      'CANCEL',
    );
    assert.equal(await deliver(BOB, cancelAll), undefined);
    assert.equal(await stored('bob', 'series-1'), undefined);
  });

  it("a REPLY updates the replying attendee's answer on the organizer's copy, and only theirs", async () => {
    // Carol organizes here; bob@a.example... is remote and answers.
    const remote = 'mailto:dave@d.example';
    await putAsUser(
      'carol',
      'meeting-1',
      ics(
        vevent(
          'UID:meeting-1',
          'DTSTAMP:20261201T100000Z',
          'DTSTART:20261215T100000Z',
          'DTEND:20261215T110000Z',
          'SUMMARY:Review',
          `ORGANIZER:${CAROL}`,
          `ATTENDEE;PARTSTAT=ACCEPTED:${CAROL}`,
          `ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${remote}`,
        ),
      ),
    );
    const reply = (from: string) =>
      ics(
        vevent(
          'UID:meeting-1',
          'DTSTAMP:20261201T110000Z',
          `ORGANIZER:${CAROL}`,
          `ATTENDEE;PARTSTAT=ACCEPTED:${from}`,
        ),
        'REPLY',
      );
    assert.equal(await deliver(CAROL, reply(remote), remote), undefined);
    assert.match((await stored('carol', 'meeting-1'))!, /ATTENDEE;PARTSTAT=ACCEPTED:mailto:dave@d\.example/);

    const crasher = await deliver(CAROL, reply(MALLORY), MALLORY);
    assert.equal(typeof crasher === 'object' && crasher?.requestStatus, '3.8;No authority');
    assert.doesNotMatch((await stored('carol', 'meeting-1'))!, /mallory/);
  });

  it('answers a COUNTER it has no place to show with 3.14', async () => {
    const counter = ics(
      vevent(
        'UID:meeting-1',
        'DTSTAMP:20261201T120000Z',
        'DTSTART:20261215T120000Z',
        'DTEND:20261215T130000Z',
        `ORGANIZER:${CAROL}`,
        'ATTENDEE;PARTSTAT=ACCEPTED:mailto:dave@d.example',
      ),
      'COUNTER',
    );
    const result = await deliver(CAROL, counter, 'mailto:dave@d.example');
    assert.equal(typeof result === 'object' && result?.requestStatus, '3.14;Unsupported capability');
  });

  it('free-busy from the events: recurrences expanded; transparent, cancelled and free time left out', async () => {
    const put = (uid: string, ...lines: string[]) =>
      putAsUser('carol', uid, ics(vevent(`UID:${uid}`, 'DTSTAMP:20261201T000000Z', ...lines)));
    await put(
      'fb-weekly',
      'DTSTART:20270104T090000Z',
      'DTEND:20270104T100000Z',
      'RRULE:FREQ=WEEKLY;COUNT=3',
      'EXDATE:20270111T090000Z',
    );
    await put('fb-transparent', 'DTSTART:20270105T090000Z', 'DTEND:20270105T100000Z', 'TRANSP:TRANSPARENT');
    await put('fb-cancelled', 'DTSTART:20270106T090000Z', 'DTEND:20270106T100000Z', 'STATUS:CANCELLED');
    await put('fb-tentative', 'DTSTART:20270107T090000Z', 'DTEND:20270107T100000Z', 'STATUS:TENTATIVE');
    await put('fb-allday', 'DTSTART;VALUE=DATE:20270108', 'DTEND;VALUE=DATE:20270109');
    const busy = await adapter.getFreeBusy({
      recipient: CAROL,
      user: await user(CAROL),
      originator: ALICE,
      start: new Date('2027-01-01T00:00:00Z'),
      end: new Date('2027-02-01T00:00:00Z'),
      message: parseScheduleMessage(invitation('fb-probe')),
      request,
      signal,
    });
    const shown = busy.map((p) => `${new Date(p.start).toISOString()} ${p.type ?? 'BUSY'}`).sort();
    assert.deepEqual(shown, [
      '2027-01-04T09:00:00.000Z BUSY',
      '2027-01-07T09:00:00.000Z BUSY-TENTATIVE',
      '2027-01-08T00:00:00.000Z BUSY',
      '2027-01-18T09:00:00.000Z BUSY',
    ]);
  });

  it("never writes over a user's concurrent change: it reads again and applies to their version", async () => {
    await deliver(BOB, invitation('race-1'));
    // Bob accepts, with an alarm of his own, while the organizer's update is on its way.
    const proxy = await racingProxy(radicale.url, async () => {
      const mine = (await stored('bob', 'race-1'))!
        .replace(`ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${BOB}`, `ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`)
        .replace(
          'END:VEVENT',
          'BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:race\r\nTRIGGER:-PT9M\r\nEND:VALARM\r\nEND:VEVENT',
        );
      await putAsUser('bob', 'race-1', mine);
    });
    try {
      const viaProxy = caldavAdapter({
        url: proxy.url,
        username: 'gateway',
        password: 'gateway',
        users: { [BOB]: '/bob/' },
      });
      const bob = await viaProxy.lookupUser({ address: BOB, request, signal });
      const update = invitation('race-1', [], { stamp: '20261201T150000Z' }).replace(
        'Planning',
        'Planning v2',
      );
      const result = await viaProxy.deliverToInbox({
        recipient: BOB,
        user: bob!,
        originator: ALICE,
        message: parseScheduleMessage(update),
        request,
        signal,
      });
      assert.equal(result, undefined);
      assert.ok(proxy.raced, 'the race happened');
      const event = (await stored('bob', 'race-1'))!;
      assert.match(event, /SUMMARY:Planning v2/, "the organizer's update is applied");
      assert.match(event, /PARTSTAT=ACCEPTED[^\r\n]*:mailto:bob@b\.example/, "bob's answer survives");
      assert.match(event, /TRIGGER:-PT9M/, 'and so does his alarm');
    } finally {
      await proxy.close();
    }
  });

  it('fails the delivery (the receiver answers 5.1) when the CalDAV server is down', async () => {
    const bob = await user(BOB);
    await radicale.stop();
    try {
      await assert.rejects(
        async () =>
          adapter.deliverToInbox({
            recipient: BOB,
            user: bob,
            originator: ALICE,
            message: parseScheduleMessage(invitation('down-1')),
            request,
            signal,
          }),
        { name: 'HttpError' },
      );
    } finally {
      await radicale.start();
    }
    assert.equal(await deliver(BOB, invitation('down-1')), undefined);
    assert.ok(await stored('bob', 'down-1'));
  });
});
