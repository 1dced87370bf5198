import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMessageTree } from '../../lib/itip/message.js';
import {
  checkLimits,
  checkParticipants,
  isCalendarAddress,
  normalizeAddress,
  withinDomain,
} from '../support/api.js';
import { errorCode } from '../support/outcome.js';

const calendar = (method: string, body: string, component = 'VEVENT') =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//test//EN',
    `METHOD:${method}`,
    `BEGIN:${component}`,
    'UID:u1',
    'DTSTAMP:20250101T000000Z',
    'DTSTART:20250102T100000Z',
    'DTEND:20250102T110000Z',
    'ORGANIZER:mailto:org@example.com',
    ...body.split('\n').filter(Boolean),
    `END:${component}`,
    'END:VCALENDAR',
    '',
  ].join('\r\n');

const code = (fn: () => void): string => {
  const outcome = errorCode(fn);
  return outcome === 'accepted' ? 'none' : outcome;
};

describe('calendar user addresses', () => {
  it('accepts absolute URIs and well-formed mailto only', () => {
    for (const good of [
      'mailto:a@example.com',
      'MAILTO:A.B+c@Sub.Example.COM',
      'urn:uuid:1234',
      'https://example.com/u/1',
    ]) {
      assert.ok(isCalendarAddress(good), good);
    }
    for (const bad of [
      'a@example.com',
      'mailto:',
      'mailto:nobody',
      'mailto:a@b@c',
      'mailto:a b@example.com',
      '',
      ' mailto:a@b.c',
    ]) {
      assert.ok(!isCalendarAddress(bad), bad);
    }
  });
  it('compares mailto case-insensitively and checks sub-domains', () => {
    assert.equal(normalizeAddress(' MailTo:Bob@Example.COM '), 'mailto:bob@example.com');
    assert.ok(withinDomain('cal.example.com', 'example.com'));
    assert.ok(!withinDomain('badexample.com', 'example.com'));
  });
});

describe('iTIP rules per METHOD (draft -05 §3.3)', () => {
  const att = 'ATTENDEE:mailto:att@example.org\nATTENDEE:mailto:two@example.org';
  const table: Array<[string, string, string, string[], string]> = [
    ['REQUEST', att, 'mailto:org@example.com', ['mailto:att@example.org'], 'none'],
    ['REQUEST', att, 'mailto:att@example.org', ['mailto:two@example.org'], 'invalid-scheduling-message'],
    ['REQUEST', att, 'mailto:org@example.com', ['mailto:stranger@example.org'], 'invalid-scheduling-message'],
    ['CANCEL', att, 'MAILTO:ORG@example.com', ['mailto:TWO@example.org'], 'none'],
    ['ADD', att, 'mailto:org@example.com', ['mailto:att@example.org'], 'none'],
    ['DECLINECOUNTER', att, 'mailto:org@example.com', ['mailto:att@example.org'], 'none'],
    [
      'REPLY',
      'ATTENDEE;PARTSTAT=ACCEPTED:mailto:att@example.org',
      'mailto:att@example.org',
      ['mailto:org@example.com'],
      'none',
    ],
    ['REPLY', att, 'mailto:att@example.org', ['mailto:org@example.com'], 'invalid-scheduling-message'],
    [
      'REPLY',
      'ATTENDEE:mailto:att@example.org',
      'mailto:other@example.org',
      ['mailto:org@example.com'],
      'invalid-scheduling-message',
    ],
    [
      'REPLY',
      'ATTENDEE:mailto:att@example.org',
      'mailto:att@example.org',
      ['mailto:att2@example.com'],
      'invalid-scheduling-message',
    ],
    [
      'REFRESH',
      'ATTENDEE:mailto:att@example.org',
      'mailto:att@example.org',
      ['mailto:org@example.com'],
      'none',
    ],
    [
      'COUNTER',
      'ATTENDEE:mailto:att@example.org',
      'mailto:att@example.org',
      ['mailto:org@example.com'],
      'none',
    ],
    ['PUBLISH', att, 'mailto:org@example.com', ['mailto:att@example.org'], 'invalid-scheduling-message'],
    ['X-NEW', att, 'mailto:org@example.com', ['mailto:att@example.org'], 'invalid-scheduling-message'],
  ];
  for (const [method, body, originator, recipients, expected] of table) {
    it(`${method} from ${originator} to ${recipients.join(',')}: ${expected}`, () => {
      const message = parseMessageTree(calendar(method, body));
      assert.equal(
        code(() => checkParticipants(message, originator, recipients)),
        expected,
      );
    });
  }
  // Every METHOD iSchedule carries, from the role that may send it and from the other one.
  const ORGANIZER_SENDS = ['REQUEST', 'ADD', 'CANCEL', 'DECLINECOUNTER', 'POLLSTATUS'];
  const ATTENDEE_SENDS = ['REPLY', 'REFRESH', 'COUNTER'];
  for (const method of ORGANIZER_SENDS) {
    it(`${method}: only the ORGANIZER sends it, only to ATTENDEEs`, () => {
      const message = parseMessageTree(calendar(method, att));
      const check = (from: string, to: string) => code(() => checkParticipants(message, from, [to]));
      assert.equal(check('mailto:org@example.com', 'mailto:two@example.org'), 'none');
      assert.equal(check('mailto:att@example.org', 'mailto:two@example.org'), 'invalid-scheduling-message');
      assert.equal(
        check('mailto:org@example.com', 'mailto:stranger@example.org'),
        'invalid-scheduling-message',
      );
      assert.equal(check('mailto:org@example.com', 'mailto:org@example.com'), 'invalid-scheduling-message');
    });
  }
  for (const method of ATTENDEE_SENDS) {
    it(`${method}: only its one ATTENDEE sends it, only to the ORGANIZER`, () => {
      const message = parseMessageTree(calendar(method, 'ATTENDEE:mailto:att@example.org'));
      const check = (from: string, to: string) => code(() => checkParticipants(message, from, [to]));
      assert.equal(check('mailto:att@example.org', 'mailto:org@example.com'), 'none');
      assert.equal(check('mailto:org@example.com', 'mailto:org@example.com'), 'invalid-scheduling-message');
      assert.equal(check('mailto:att@example.org', 'mailto:att@example.org'), 'invalid-scheduling-message');
      const two = parseMessageTree(calendar(method, att));
      assert.equal(
        code(() => checkParticipants(two, 'mailto:att@example.org', ['mailto:org@example.com'])),
        'invalid-scheduling-message',
        'two ATTENDEEs: which one replies?',
      );
    });
  }
  it('a message without ORGANIZER is refused whatever its METHOD', () => {
    const message = parseMessageTree(
      calendar('REQUEST', att).replace('ORGANIZER:mailto:org@example.com\r\n', ''),
    );
    assert.equal(
      code(() => checkParticipants(message, 'mailto:org@example.com', ['mailto:att@example.org'])),
      'invalid-scheduling-message',
    );
  });
  it('VFREEBUSY REQUEST: a Recipient that is not an ATTENDEE is a mismatch, even with the same count', () => {
    const message = parseMessageTree(calendar('REQUEST', att, 'VFREEBUSY'));
    const check = (recipients: string[]) =>
      code(() => checkParticipants(message, 'mailto:org@example.com', recipients));
    assert.equal(check(['mailto:att@example.org', 'mailto:stranger@example.org']), 'recipient-mismatch');
    assert.equal(check(['mailto:att@example.org', 'MAILTO:ATT@example.org']), 'recipient-mismatch');
    assert.equal(check(['MAILTO:TWO@EXAMPLE.ORG', 'mailto:att@example.org']), 'none');
  });
  it('a VFREEBUSY REPLY goes from its ATTENDEE to the ORGANIZER, like any reply', () => {
    const message = parseMessageTree(calendar('REPLY', 'ATTENDEE:mailto:att@example.org', 'VFREEBUSY'));
    assert.equal(
      code(() => checkParticipants(message, 'mailto:att@example.org', ['mailto:org@example.com'])),
      'none',
    );
  });
  it('VFREEBUSY REQUEST: the Recipients must be exactly the ATTENDEEs', () => {
    const message = parseMessageTree(calendar('REQUEST', att, 'VFREEBUSY'));
    assert.equal(
      code(() =>
        checkParticipants(message, 'mailto:org@example.com', [
          'mailto:two@example.org',
          'mailto:att@example.org',
        ]),
      ),
      'none',
    );
    assert.equal(
      code(() => checkParticipants(message, 'mailto:org@example.com', ['mailto:att@example.org'])),
      'recipient-mismatch',
    );
  });
});

describe('message shape', () => {
  it('refuses mixed components, differing UIDs, no METHOD, non-UTC free-busy ranges', () => {
    const mixed = calendar('REQUEST', '').replace(
      'END:VCALENDAR',
      'BEGIN:VTODO\r\nUID:u1\r\nORGANIZER:mailto:org@example.com\r\nEND:VTODO\r\nEND:VCALENDAR',
    );
    assert.equal(
      code(() => parseMessageTree(mixed)),
      'invalid-scheduling-message',
    );
    const twoUids = calendar('REQUEST', '').replace(
      'END:VCALENDAR',
      'BEGIN:VEVENT\r\nUID:u2\r\nORGANIZER:mailto:org@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR',
    );
    assert.equal(
      code(() => parseMessageTree(twoUids)),
      'invalid-scheduling-message',
    );
    const floating = calendar('REQUEST', '', 'VFREEBUSY').replace(
      'DTSTART:20250102T100000Z',
      'DTSTART:20250102T100000',
    );
    assert.equal(
      code(() => parseMessageTree(floating)),
      'invalid-scheduling-message',
    );
    assert.equal(
      code(() => parseMessageTree(calendar('REQUEST', '').replace('VERSION:2.0', 'VERSION:1.0'))),
      'invalid-calendar-data',
    );
  });
  it('accepts VTIMEZONE beside the components and a TZID it defines', () => {
    const tz =
      'BEGIN:VTIMEZONE\r\nTZID:Custom/Zone\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n';
    const text = calendar('REQUEST', '')
      .replace('BEGIN:VEVENT', `${tz}BEGIN:VEVENT`)
      .replace('DTSTART:20250102T100000Z', 'DTSTART;TZID=Custom/Zone:20250102T100000');
    const message = parseMessageTree(text);
    assert.equal(message.components.length, 1);
    // The VTIMEZONE's 1601 date is not held to min-date-time.
    checkLimits(message, { minDateTime: '19000101T000000Z' });
  });
  it('counts overridden instances as part of their series, and stops an endless rule quickly', () => {
    const series = calendar('REQUEST', 'RRULE:FREQ=WEEKLY;COUNT=5').replace(
      'END:VCALENDAR',
      'BEGIN:VEVENT\r\nUID:u1\r\nRECURRENCE-ID:20250109T100000Z\r\nDTSTART:20250109T120000Z\r\nORGANIZER:mailto:org@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR',
    );
    checkLimits(parseMessageTree(series), { maxInstances: 5 });
    assert.equal(
      code(() => checkLimits(parseMessageTree(series), { maxInstances: 4 })),
      'max-instances',
    );
    const never = calendar('REQUEST', 'RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30');
    const started = Date.now();
    assert.equal(
      code(() => checkLimits(parseMessageTree(never), { maxInstances: 1000 })),
      'invalid-calendar-data',
      'a rule that matches no date is refused before anything searches for its instances',
    );
    assert.ok(Date.now() - started < 1000);
  });
});
