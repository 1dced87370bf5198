/**
 * checkLimits: the date range, instance count and attachment forms a receiver advertises,
 * applied to a message, each at its boundary.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { comparable, type MessageLimits } from '../../lib/itip/limits.js';
import { parseMessageTree } from '../../lib/itip/message.js';
import { checkLimits, IScheduleError } from '../support/api.js';
import { fuzzRuns } from '../support/fuzz.js';
import { errorCode } from '../support/outcome.js';

function event(lines: readonly string[], component = 'VEVENT'): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//test//EN',
    'METHOD:REQUEST',
    `BEGIN:${component}`,
    'UID:limits-1',
    'DTSTAMP:20250101T000000Z',
    'ORGANIZER:mailto:org@example.com',
    'ATTENDEE:mailto:att@example.org',
    ...lines,
    `END:${component}`,
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

const outcome = (text: string, limits: MessageLimits) =>
  errorCode(() => checkLimits(parseMessageTree(text), limits));

const RANGE: MessageLimits = { minDateTime: '20000101T000000Z', maxDateTime: '20301231T235959Z' };

describe('checkLimits: min-date-time and max-date-time', () => {
  it('accepts dates on the boundaries and refuses one second beyond either', () => {
    const at = (start: string) => outcome(event([`DTSTART:${start}`]), RANGE);
    assert.equal(at('20000101T000000Z'), 'accepted');
    assert.equal(at('20301231T235959Z'), 'accepted');
    assert.equal(at('19991231T235959Z'), 'min-date-time');
    assert.equal(at('20310101T000000Z'), 'max-date-time');
  });

  it('applies each bound alone when only one is advertised', () => {
    const old = event(['DTSTART:19500101T000000Z']);
    const late = event(['DTSTART:20990101T000000Z']);
    assert.equal(outcome(old, { maxDateTime: RANGE.maxDateTime! }), 'accepted');
    assert.equal(outcome(old, { minDateTime: RANGE.minDateTime! }), 'min-date-time');
    assert.equal(outcome(late, { minDateTime: RANGE.minDateTime! }), 'accepted');
    assert.equal(outcome(late, { maxDateTime: RANGE.maxDateTime! }), 'max-date-time');
    assert.equal(outcome(late, {}), 'accepted');
  });

  it('checks every date property: all-day dates, DTEND, EXDATE, RDATE periods and alarms', () => {
    assert.equal(outcome(event(['DTSTART;VALUE=DATE:19991231']), RANGE), 'min-date-time');
    assert.equal(outcome(event(['DTSTART;VALUE=DATE:20000101']), RANGE), 'accepted');
    assert.equal(outcome(event(['DTSTART;VALUE=DATE:20301231']), RANGE), 'accepted', 'the last day, all day');
    assert.equal(outcome(event(['DTSTART;VALUE=DATE:20310101']), RANGE), 'max-date-time');
    assert.equal(
      outcome(event(['DTSTART:20250101T100000Z', 'DTEND:20310101T100000Z']), RANGE),
      'max-date-time',
    );
    assert.equal(
      outcome(
        event(['DTSTART:20250101T100000Z', 'RRULE:FREQ=DAILY;COUNT=2', 'EXDATE:19990101T100000Z']),
        RANGE,
      ),
      'min-date-time',
    );
    assert.equal(
      outcome(event(['DTSTART:20250101T100000Z', 'RDATE;VALUE=PERIOD:20400101T100000Z/PT1H']), RANGE),
      'max-date-time',
    );
    const alarm = ['DTSTART:20250101T100000Z', 'BEGIN:VALARM', 'ACTION:DISPLAY', 'DESCRIPTION:x'];
    assert.equal(
      outcome(event([...alarm, 'TRIGGER;VALUE=DATE-TIME:19990101T000000Z', 'END:VALARM']), RANGE),
      'min-date-time',
    );
    assert.equal(outcome(event([...alarm, 'TRIGGER:-PT15M', 'END:VALARM']), RANGE), 'accepted');
  });

  it('never holds a time zone’s historical onsets to the range, even one nested in the event', () => {
    const zone = [
      'BEGIN:VTIMEZONE',
      'TZID:Europe/Paris',
      'BEGIN:STANDARD',
      'DTSTART:16010101T030000',
      'TZOFFSETFROM:+0200',
      'TZOFFSETTO:+0100',
      'END:STANDARD',
      'END:VTIMEZONE',
    ];
    assert.equal(outcome(event(['DTSTART:20250101T100000Z', ...zone]), RANGE), 'accepted');
  });

  it('checks free-busy periods by their start', () => {
    const request = (period: string) =>
      event(['DTSTART:20250101T000000Z', 'DTEND:20250102T000000Z', `FREEBUSY:${period}`], 'VFREEBUSY');
    assert.equal(outcome(request('20250101T100000Z/PT1H'), RANGE), 'accepted');
    assert.equal(outcome(request('20310101T100000Z/PT1H'), RANGE), 'max-date-time');
  });
});

describe('comparable: a date as the range check compares it', () => {
  // The rule in full: the digits, the first 8 then the next 6, each padded with zeros.
  const byRule = (value: string) => {
    const digits = value.replace(/[^0-9]/g, '');
    return Number(`${digits.slice(0, 8).padEnd(8, '0')}${digits.slice(8, 14).padEnd(6, '0')}`);
  };

  it('reads the usual forms (jCal, basic) quickly and everything else by the rule, alike', () => {
    const piece = fc.constantFrom('0', '1', '9', 'T', 'Z', '-', ':', 'z', 't', ' ', '٣');
    const date = fc.oneof(
      fc.stringMatching(/^\d{8}T\d{6}Z?$/),
      fc.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z?$/),
    );
    const near = fc.tuple(date, fc.nat(20), piece);
    fc.assert(
      fc.property(near, fc.array(piece, { maxLength: 18 }), ([date, at, swap], noise) => {
        // Dates of the usual form, one character changed, cut short, and arbitrary strings.
        const changed = date.slice(0, at) + swap + date.slice(at + 1);
        for (const value of [date, changed, date.slice(0, at), `${date}${swap}`, noise.join('')])
          assert.equal(comparable(value), byRule(value), JSON.stringify(value));
        return true;
      }),
      { numRuns: fuzzRuns(3000) },
    );
    assert.equal(comparable('20040902T130000Z'), 20040902130000);
    assert.equal(comparable('2004-09-02T13:00:00Z'), 20040902130000);
    assert.equal(comparable('2004-09-02'), 20040902000000);
    // The usual shapes with no digit where digits go: nothing to read, by the rule.
    for (const value of ['////-//-//T//://://', '        T      Z', '........T......'])
      assert.equal(comparable(value), 0, JSON.stringify(value));
    assert.ok(comparable('2004-09-02T13:00:01Z') > comparable('20040902T130000Z'));
    assert.ok(comparable('2004-09-02') < comparable('20040902T000001Z'));
  });
});

describe('checkLimits: max-instances', () => {
  it('accepts exactly max-instances and refuses one more, counting RDATEs', () => {
    const weekly = (count: number) => event(['DTSTART:20250101T100000Z', `RRULE:FREQ=WEEKLY;COUNT=${count}`]);
    assert.equal(outcome(weekly(10), { maxInstances: 10 }), 'accepted');
    assert.equal(outcome(weekly(11), { maxInstances: 10 }), 'max-instances');
    const withRdate = event([
      'DTSTART:20250101T100000Z',
      'RRULE:FREQ=WEEKLY;COUNT=10',
      'RDATE:20250301T100000Z',
    ]);
    assert.equal(outcome(withRdate, { maxInstances: 10 }), 'max-instances');
    assert.equal(outcome(event(['DTSTART:20250101T100000Z']), { maxInstances: 1 }), 'accepted');
  });

  it('refuses a rule with no end whatever the limit, and says why', () => {
    const endless = event(['DTSTART:20250101T100000Z', 'RRULE:FREQ=DAILY']);
    assert.throws(
      () => checkLimits(parseMessageTree(endless), { maxInstances: 1_000_000 }),
      (error: unknown) =>
        error instanceof IScheduleError && error.code === 'max-instances' && /no end/.test(error.message),
    );
  });
});

describe('checkLimits: attachments', () => {
  const inline = event(['DTSTART:20250101T100000Z', 'ATTACH;ENCODING=BASE64;VALUE=BINARY:aGVsbG8=']);
  const inlineLowerCase = event([
    'DTSTART:20250101T100000Z',
    'ATTACH;ENCODING=base64;FMTTYPE=text/plain:aGVsbG8=',
  ]);
  const external = event(['DTSTART:20250101T100000Z', 'ATTACH:https://files.example.com/agenda.pdf']);

  it('refuses inline attachments where only URIs are accepted, in either case of BASE64', () => {
    const limits = { attachments: { inline: false, external: true } };
    assert.equal(outcome(inline, limits), 'attachment-type-not-supported');
    const binary = event(['DTSTART:20250101T100000Z', 'ATTACH;VALUE=BINARY:aGVsbG8=']);
    assert.equal(outcome(binary, limits), 'attachment-type-not-supported', 'VALUE=BINARY alone is inline');
    assert.equal(outcome(inlineLowerCase, limits), 'attachment-type-not-supported');
    assert.equal(outcome(external, limits), 'accepted');
  });

  it('refuses URI attachments where only inline ones are accepted', () => {
    const limits = { attachments: { inline: true, external: false } };
    assert.equal(outcome(external, limits), 'attachment-type-not-supported');
    assert.equal(outcome(inline, limits), 'accepted');
  });

  it('takes both, and a message without attachments under any setting', () => {
    assert.equal(outcome(inline, { attachments: { inline: true, external: true } }), 'accepted');
    assert.equal(outcome(external, { attachments: { inline: true, external: true } }), 'accepted');
    const none = event(['DTSTART:20250101T100000Z']);
    assert.equal(outcome(none, { attachments: { inline: false, external: false } }), 'accepted');
    assert.equal(outcome(inline, {}), 'accepted', 'no attachment limit advertised');
  });
});
