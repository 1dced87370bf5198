/** Hostile iCalendar never escapes as anything but an IScheduleError (no 5xx from bad input). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseMessageTree } from '../../lib/itip/message.js';
import { checkLimits, checkParticipants, IScheduleError } from '../support/api.js';
import { fixture } from '../support/fixtures.js';
import { fuzzRuns } from '../support/fuzz.js';

const base = fixture('draft/a1-request.ics').toString().split('\r\n');
const limits = {
  minDateTime: '19000101T000000Z',
  maxDateTime: '21001231T235959Z',
  maxInstances: 100,
  attachments: { inline: false, external: true },
};

const interesting = fc.constantFrom(
  'RRULE:FREQ=DAILY',
  'RRULE:FREQ=BOGUS;COUNT=x',
  'RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30',
  'RRULE:FREQ=SECONDLY;COUNT=99999999',
  'RRULE:FREQ=MONTHLY;BYSETPOS=-400;BYDAY=MO',
  'RRULE:FREQ=WEEKLY;UNTIL=20040231T000000Z',
  'RDATE;VALUE=PERIOD:20040902T130000Z/PT1H,garbage',
  'EXDATE:nope',
  'DURATION:PXYZ',
  'DTSTART;TZID="":20040902T130000',
  'DTSTART;VALUE=DATE:2004',
  'ATTACH;VALUE=BINARY;ENCODING=BASE64:@@@',
  'ATTENDEE:',
  'ORGANIZER;CN="unterminated:mailto:x@y',
  'RECURRENCE-ID:20040903T130000Z',
  'BEGIN:VALARM',
  'END:VALARM',
  'BEGIN:VTIMEZONE',
  'X-\u0000:\u0000',
  '',
);

/** What every accepted message is: one METHOD, one kind of component, one UID, one ORGANIZER. */
function assertWellFormed(message: ReturnType<typeof parseMessageTree>): void {
  assert.match(message.method, /^[A-Z0-9-]+$/);
  assert.ok(message.components.length >= 1);
  for (const component of message.components) {
    assert.equal(component.name.toUpperCase(), message.component);
    assert.equal(String(component.getFirstPropertyValue('uid')), message.uid);
  }
  assert.ok(message.uid.length > 0);
  assert.ok(message.instances >= 0);
}

describe('iTIP parsing and checks under hostile input', () => {
  it('accept only well-formed messages within the limits, or throw an IScheduleError, for lines inserted, replaced or dropped anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.nat(base.length - 1),
            fc.oneof(interesting, fc.string({ maxLength: 40 })),
            fc.constantFrom('insert', 'replace', 'drop'),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        (edits) => {
          const lines = [...base];
          for (const [at, text, how] of edits) {
            const index = Math.min(at, lines.length - 1);
            if (how === 'insert') lines.splice(index, 0, text);
            else if (how === 'replace') lines[index] = text;
            else lines.splice(index, 1);
          }
          try {
            const message = parseMessageTree(lines.join('\r\n'));
            checkParticipants(message, 'mailto:bernard@example.com', ['mailto:cyrus@example.org']);
            checkLimits(message, limits);
            assertWellFormed(message);
            assert.ok(message.instances <= limits.maxInstances);
          } catch (error) {
            if (!(error instanceof IScheduleError)) throw error;
          }
          return true;
        },
      ),
      { numRuns: fuzzRuns(3000) },
    );
  });

  it('accept only well-formed messages, or throw an IScheduleError, for arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        let message: ReturnType<typeof parseMessageTree>;
        try {
          message = parseMessageTree(text);
        } catch (error) {
          assert.ok(error instanceof IScheduleError, String(error));
          return true;
        }
        assertWellFormed(message);
        return true;
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });
});
