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
