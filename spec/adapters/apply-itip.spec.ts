/** The attendee's and organizer's agent as a pure function: instances, ADD, and what is refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyItip } from '../../lib/adapters/caldav/apply-itip.js';
import { ics, unfolded, vevent } from '../support/calendar-text.js';

const ALICE = 'mailto:alice@a.example';
const BOB = 'mailto:bob@b.example';

const series = ics(
  vevent(
    'UID:s-1',
    'DTSTAMP:20261201T000000Z',
    'DTSTART:20261207T090000Z',
    'DTEND:20261207T093000Z',
    'RRULE:FREQ=WEEKLY;COUNT=4',
    'SUMMARY:Standup',
    `ORGANIZER:${ALICE}`,
    `ATTENDEE;PARTSTAT=ACCEPTED:${ALICE}`,
    `ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${BOB}`,
  ),
);
const written = (result: ReturnType<typeof applyItip>) => {
  assert.equal(result.kind, 'write', JSON.stringify(result));
  return unfolded((result as { text: string }).text);
};

describe('applyItip', () => {
  it("a REPLY for one instance of a series becomes that instance's own component", () => {
    const reply = ics(
      vevent(
        'UID:s-1',
        'DTSTAMP:20261202T000000Z',
        'RECURRENCE-ID:20261214T090000Z',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE;PARTSTAT=DECLINED:${BOB}`,
      ),
      'REPLY',
    );
    const text = written(applyItip(series, reply, BOB, ALICE));
    assert.match(text, /RECURRENCE-ID:20261214T090000Z/);
    assert.match(text, /DTSTART:20261214T090000Z/);
    assert.match(text, /DTEND:20261214T093000Z/, 'the instance keeps the series duration');
    const [master, instance] = text.split('BEGIN:VEVENT').slice(1);
    assert.match(instance!, /RECURRENCE-ID:20261214T090000Z/);
    assert.match(instance!, /PARTSTAT=DECLINED:mailto:bob@b\.example/);
    assert.doesNotMatch(instance!, /RRULE/);
    assert.match(
      master!,
      /PARTSTAT=NEEDS-ACTION[^\r\n]*:mailto:bob@b\.example/,
      'the rest of the series is unanswered',
    );
  });

  it('an ADD adds the instance and its date to the series', () => {
    const add = ics(
      vevent(
        'UID:s-1',
        'DTSTAMP:20261202T000000Z',
        'SEQUENCE:1',
        'DTSTART:20261209T090000Z',
        'DTEND:20261209T093000Z',
        'SUMMARY:Extra standup',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE:${BOB}`,
      ),
      'ADD',
    );
    const text = written(applyItip(series, add, ALICE, BOB));
    assert.match(text, /RDATE:20261209T090000Z/);
    assert.match(text, /RECURRENCE-ID:20261209T090000Z/);
    assert.match(text, /SUMMARY:Extra standup/);
    const none = applyItip(undefined, add, ALICE, BOB);
    assert.deepEqual(none.kind === 'answer' && none.status.requestStatus, '3.14;Unsupported capability');
  });

  it('REFRESH, COUNTER and DECLINECOUNTER are answered 3.14, nothing written', () => {
    for (const method of ['REFRESH', 'COUNTER', 'DECLINECOUNTER']) {
      const message = ics(
        vevent('UID:s-1', 'DTSTAMP:20261202T000000Z', `ORGANIZER:${ALICE}`, `ATTENDEE:${BOB}`),
        method,
      );
      const result = applyItip(series, message, method === 'DECLINECOUNTER' ? ALICE : BOB, ALICE);
      assert.equal(
        result.kind === 'answer' && result.status.requestStatus,
        '3.14;Unsupported capability',
        method,
      );
    }
  });

  it('a REPLY to an older version does not undo a newer answer; one to an unknown event is refused', () => {
    const newer = series.replace('DTSTAMP:20261201T000000Z', 'DTSTAMP:20261201T000000Z\r\nSEQUENCE:3');
    const stale = ics(
      vevent(
        'UID:s-1',
        'DTSTAMP:20261202T000000Z',
        'SEQUENCE:1',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`,
      ),
      'REPLY',
    );
    assert.match(
      written(applyItip(newer, stale, BOB, ALICE)),
      /PARTSTAT=NEEDS-ACTION[^\r\n]*:mailto:bob@b\.example/,
    );
    const unknown = applyItip(undefined, stale, BOB, ALICE);
    assert.equal(unknown.kind === 'answer' && unknown.status.requestStatus, '3.8;No authority');
  });
});

/** A one-event object from alice to bob: the given lines between the usual ones. */
const single = (method: string | undefined, ...lines: string[]) =>
  ics(
    vevent(
      'UID:o-1',
      'DTSTART:20261210T100000Z',
      'DTEND:20261210T110000Z',
      `ORGANIZER:${ALICE}`,
      `ATTENDEE;PARTSTAT=ACCEPTED:${ALICE}`,
      ...lines,
    ),
    method,
  );
const status = (result: ReturnType<typeof applyItip>) =>
  result.kind === 'answer' ? result.status.requestStatus : result.kind;

describe('applyItip: which version wins, and whose event it is', () => {
  it('at equal SEQUENCE the later DTSTAMP wins; the same message again is applied again', () => {
    const held = single(undefined, 'DTSTAMP:20261201T120000Z', 'SUMMARY:held', `ATTENDEE:${BOB}`);
    const earlier = single('REQUEST', 'DTSTAMP:20261201T110000Z', 'SUMMARY:earlier', `ATTENDEE:${BOB}`);
    const same = single('REQUEST', 'DTSTAMP:20261201T120000Z', 'SUMMARY:again', `ATTENDEE:${BOB}`);
    const later = single('REQUEST', 'DTSTAMP:20261201T130000Z', 'SUMMARY:later', `ATTENDEE:${BOB}`);
    assert.equal(status(applyItip(held, earlier, ALICE, BOB)), '2.0;Success');
    assert.match(written(applyItip(held, same, ALICE, BOB)), /SUMMARY:again/);
    assert.match(written(applyItip(held, later, ALICE, BOB)), /SUMMARY:later/);
  });

  it("a held copy without an ORGANIZER is nobody else's to change (3.8)", () => {
    const mine = ics(
      vevent('UID:o-1', 'DTSTAMP:20261201T000000Z', 'DTSTART:20261210T100000Z', 'SUMMARY:my own'),
    );
    const request = single('REQUEST', 'DTSTAMP:20261202T000000Z', `ATTENDEE:${BOB}`);
    assert.equal(status(applyItip(mine, request, ALICE, BOB)), '3.8;No authority');
  });

  it("an update of one instance replaces that instance only; the organizer's answer for the attendee is taken", () => {
    const held = series.replace(
      'END:VCALENDAR',
      [
        'BEGIN:VEVENT',
        'UID:s-1',
        'DTSTAMP:20261201T000000Z',
        'RECURRENCE-ID:20261221T090000Z',
        'DTSTART:20261221T100000Z',
        'DTEND:20261221T103000Z',
        'SUMMARY:Standup later',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE;PARTSTAT=TENTATIVE:${BOB}`,
        'END:VEVENT',
        'END:VCALENDAR',
      ].join('\r\n'),
    );
    const update = ics(
      vevent(
        'UID:s-1',
        'DTSTAMP:20261202T000000Z',
        'RECURRENCE-ID:20261214T090000Z',
        'DTSTART:20261214T080000Z',
        'DTEND:20261214T083000Z',
        'SUMMARY:Standup early',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`,
      ),
      'REQUEST',
    );
    const text = written(applyItip(held, update, ALICE, BOB));
    const components = text.split('BEGIN:VEVENT').slice(1);
    assert.equal(components.length, 3, 'the series, the instance held, the instance updated');
    assert.match(components[0]!, /RRULE:FREQ=WEEKLY;COUNT=4/);
    assert.ok(components.some((c) => /SUMMARY:Standup later/.test(c)));
    const early = components.find((c) => /SUMMARY:Standup early/.test(c))!;
    assert.match(early, /PARTSTAT=ACCEPTED:mailto:bob@b\.example/);
  });

  it('keeps the time zones the organizer sends with the event', () => {
    const zoned = ics(
      [
        'BEGIN:VTIMEZONE',
        'TZID:Europe/Paris',
        'BEGIN:STANDARD',
        'DTSTART:19701025T030000',
        'TZOFFSETFROM:+0200',
        'TZOFFSETTO:+0100',
        'END:STANDARD',
        'END:VTIMEZONE',
        ...vevent(
          'UID:z-1',
          'DTSTAMP:20261201T000000Z',
          'DTSTART;TZID=Europe/Paris:20261210T100000',
          `ORGANIZER:${ALICE}`,
          `ATTENDEE:${BOB}`,
        ),
      ],
      'REQUEST',
    );
    assert.match(written(applyItip(undefined, zoned, ALICE, BOB)), /BEGIN:VTIMEZONE\r\nTZID:Europe\/Paris/);
  });
});

describe('applyItip: CANCEL', () => {
  const cancel = (sequence: number, ...lines: string[]) =>
    ics(
      vevent(
        'UID:s-1',
        'DTSTAMP:20261202T000000Z',
        `SEQUENCE:${sequence}`,
        `ORGANIZER:${ALICE}`,
        `ATTENDEE:${BOB}`,
        ...lines,
      ),
      'CANCEL',
    );

  it('an older CANCEL is kept out; one for an instance removes its override and excludes its date, in its zone', () => {
    const held = series.replace('DTSTAMP:20261201T000000Z', 'DTSTAMP:20261201T000000Z\r\nSEQUENCE:2');
    assert.equal(status(applyItip(held, cancel(1), ALICE, BOB)), '2.0;Success');
    const zoned = ics(
      vevent(
        'UID:s-1',
        'DTSTAMP:20261201T000000Z',
        'DTSTART;TZID=Europe/Paris:20261207T090000',
        'RRULE:FREQ=WEEKLY;COUNT=4',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE:${BOB}`,
      ).concat(
        vevent(
          'UID:s-1',
          'DTSTAMP:20261201T000000Z',
          'RECURRENCE-ID;TZID=Europe/Paris:20261214T090000',
          'DTSTART;TZID=Europe/Paris:20261214T100000',
          `ORGANIZER:${ALICE}`,
          `ATTENDEE:${BOB}`,
        ),
      ),
    );
    const text = written(
      applyItip(zoned, cancel(0, 'RECURRENCE-ID;TZID=Europe/Paris:20261214T090000'), ALICE, BOB),
    );
    assert.match(text, /EXDATE;TZID=Europe\/Paris:20261214T090000/);
    assert.doesNotMatch(text, /RECURRENCE-ID/, 'the override is gone');
    assert.match(text, /RRULE/, 'the rest of the series stays');
  });

  it('cancelling the only instance held deletes the object', () => {
    const onlyInstance = ics(
      vevent(
        'UID:s-1',
        'DTSTAMP:20261201T000000Z',
        'RECURRENCE-ID:20261214T090000Z',
        'DTSTART:20261214T090000Z',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE:${BOB}`,
      ),
    );
    assert.equal(
      status(applyItip(onlyInstance, cancel(0, 'RECURRENCE-ID:20261214T090000Z'), ALICE, BOB)),
      'delete',
    );
  });
});

describe('applyItip: REPLY', () => {
  const held = single(
    undefined,
    'DTSTAMP:20261201T000000Z',
    `ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${BOB}`,
  );
  const reply = (...attendee: string[]) =>
    ics(vevent('UID:o-1', 'DTSTAMP:20261202T000000Z', `ORGANIZER:${ALICE}`, ...attendee), 'REPLY');

  it('takes the answer and a delegation, and drops a delegation withdrawn', () => {
    const delegated = written(
      applyItip(
        held,
        reply(`ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO="mailto:carol@b.example":${BOB}`),
        BOB,
        ALICE,
      ),
    );
    const line = delegated.split('\r\n').find((l) => l.endsWith(BOB))!;
    assert.match(line, /PARTSTAT=DELEGATED/);
    assert.match(line, /DELEGATED-TO="mailto:carol@b\.example"/);
    assert.doesNotMatch(line, /RSVP/, 'answered: no reply is expected any more');
    const withdrawn = written(applyItip(delegated, reply(`ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`), BOB, ALICE));
    assert.doesNotMatch(withdrawn.split('\r\n').find((l) => l.endsWith(BOB))!, /DELEGATED-TO/);
  });

  it("refuses what is not the organizer's or not the attendee's to say (3.8)", () => {
    assert.equal(
      status(applyItip(held, reply(`ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`), BOB, 'mailto:carol@b.example')),
      '3.8;No authority',
      'to someone not the organizer',
    );
    assert.equal(
      status(applyItip(held, reply(`ATTENDEE;PARTSTAT=ACCEPTED:mailto:carol@b.example`), BOB, ALICE)),
      '3.8;No authority',
      'about someone else',
    );
  });

  it('ignores an answer for an instance it holds neither alone nor as part of a series', () => {
    const onlyOne = ics(
      vevent(
        'UID:o-1',
        'DTSTAMP:20261201T000000Z',
        'RECURRENCE-ID:20261210T100000Z',
        'DTSTART:20261210T100000Z',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE:${BOB}`,
      ),
    );
    const other = ics(
      vevent(
        'UID:o-1',
        'DTSTAMP:20261202T000000Z',
        'RECURRENCE-ID:20261217T100000Z',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`,
      ),
      'REPLY',
    );
    assert.equal(status(applyItip(onlyOne, other, BOB, ALICE)), '2.0;Success');
  });
});

describe('applyItip: ADD', () => {
  it('adds an instance in its zone', () => {
    const add = ics(
      vevent(
        'UID:s-1',
        'DTSTAMP:20261202T000000Z',
        'DTSTART;TZID=Europe/Paris:20261209T090000',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE:${BOB}`,
      ),
      'ADD',
    );
    const text = written(applyItip(series, add, ALICE, BOB));
    assert.match(text, /RDATE;TZID=Europe\/Paris:20261209T090000/);
    assert.match(text, /RECURRENCE-ID;TZID=Europe\/Paris:20261209T090000/);
  });
});

describe('applyItip: what the attendee keeps', () => {
  it("a whole-event update replaces the instances held; the organizer's own answer for the attendee is taken", () => {
    const held = series
      .replace(
        'END:VCALENDAR',
        [
          ...vevent(
            'UID:s-1',
            'DTSTAMP:20261201T000000Z',
            'RECURRENCE-ID:20261221T090000Z',
            'DTSTART:20261221T100000Z',
            'SUMMARY:moved',
            `ORGANIZER:${ALICE}`,
            `ATTENDEE;PARTSTAT=TENTATIVE:${BOB}`,
          ),
          'END:VCALENDAR',
        ].join('\r\n'),
      )
      .replace(`ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${BOB}`, `ATTENDEE;PARTSTAT=TENTATIVE:${BOB}`);
    const whole = series
      .replace('BEGIN:VCALENDAR\r\n', 'BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\n')
      .replace('DTSTAMP:20261201T000000Z', 'DTSTAMP:20261202T000000Z')
      .replace(`ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${BOB}`, `ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`);
    const text = written(applyItip(held, whole, ALICE, BOB));
    assert.doesNotMatch(text, /RECURRENCE-ID|SUMMARY:moved/, 'the series as the organizer now sends it');
    assert.match(text, /PARTSTAT=ACCEPTED:mailto:bob@b\.example/);
  });

  it('an answer for one instance of a series timed by DURATION gets that instance its own times', () => {
    const byDuration = series.replace('DTEND:20261207T093000Z', 'DURATION:PT45M');
    const reply = ics(
      vevent(
        'UID:s-1',
        'DTSTAMP:20261202T000000Z',
        'RECURRENCE-ID:20261214T090000Z',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`,
      ),
      'REPLY',
    );
    const instance = written(applyItip(byDuration, reply, BOB, ALICE)).split('BEGIN:VEVENT')[2]!;
    assert.match(instance, /DTSTART:20261214T090000Z/);
    assert.match(instance, /DURATION:PT45M/);
  });
});
