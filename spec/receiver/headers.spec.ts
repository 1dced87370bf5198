/** The header steps of the pipeline under arbitrary input: an IScheduleError, never anything else. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checkVersion,
  readContentType,
  readOriginator,
  readRecipients,
} from '../../lib/receiver/request-headers.js';
import { IScheduleError } from '../support/api.js';
import { fuzzRuns } from '../support/fuzz.js';
import { errorCode } from '../support/outcome.js';

const names = fc.constantFrom(
  'Originator',
  'Recipient',
  'Content-Type',
  'iSchedule-Version',
  'originator',
  'RECIPIENT',
  'X-Other',
);
const values = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom(
    'mailto:a@example.org',
    'mailto:a@example.org, mailto:b@example.org',
    'text/calendar; component="VEVENT;x"; method=REQUEST',
    '1.0',
    '1.0, 2.0',
    ' ',
    '',
  ),
);

describe('request header steps', () => {
  it('answer any header list with a value drawn from it or an IScheduleError', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(names, values), { maxLength: 8 }), (headers) => {
        const valuesOf = (name: string) =>
          headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
        const steps: Array<[() => unknown, (result: unknown) => void]> = [
          [
            () => checkVersion(headers),
            () => assert.ok(valuesOf('iSchedule-Version').join(',').includes('1.0')),
          ],
          [() => readContentType(headers), () => assert.equal(valuesOf('Content-Type').length, 1)],
          [
            () => readOriginator(headers),
            (result) =>
              assert.deepEqual(
                [result],
                valuesOf('Originator').map((v) => v.trim()),
              ),
          ],
          [
            () => readRecipients(headers, 3),
            (result) => {
              assert.ok(Array.isArray(result) && result.length >= 1 && result.length <= 3, String(result));
              assert.ok(result.every((r) => valuesOf('Recipient').some((v) => v.includes(r))));
            },
          ],
        ];
        for (const [step, check] of steps) {
          let result: unknown;
          try {
            result = step();
          } catch (error) {
            assert.ok(error instanceof IScheduleError, String(error));
            continue;
          }
          check(result);
        }
        return true;
      }),
      { numRuns: fuzzRuns(3000) },
    );
  });

  it('read quoted Content-Type parameters and refuse other charsets', () => {
    assert.deepEqual(
      readContentType([
        ['Content-Type', 'Text/Calendar;charset="UTF-8"; component = vevent ;method="REQUEST"'],
      ]),
      {
        component: 'VEVENT',
        method: 'REQUEST',
      },
    );
    assert.throws(
      () => readContentType([['Content-Type', 'text/calendar; charset=latin1']]),
      /charset latin1/,
    );
    assert.throws(
      () =>
        readContentType([
          ['Content-Type', 'text/calendar'],
          ['Content-Type', 'text/calendar'],
        ]),
      /more than one/,
    );
  });

  const codeOf = errorCode;

  it('accept iSchedule-Version 1.0 alone or in a list, and refuse any other version', () => {
    const version = (...values: string[]) =>
      codeOf(() => checkVersion(values.map((v) => ['iSchedule-Version', v])));
    assert.equal(version('1.0'), 'accepted');
    assert.equal(version('2.0, 1.0'), 'accepted');
    assert.equal(version(' 1.0 '), 'accepted');
    assert.equal(version('2.0', '1.0'), 'accepted', 'the list may be split over fields');
    for (const refused of [[], ['2.0'], ['1.00'], ['1.0x'], ['1'], ['2.0, 3.0']]) {
      assert.equal(version(...refused), 'version-not-supported', refused.join('|'));
    }
  });

  it('read one Originator, trimmed, and refuse none, two, a list or a non-address', () => {
    const originator = (...values: string[]) => readOriginator(values.map((v) => ['Originator', v]));
    assert.equal(originator(' mailto:bernard@example.com '), 'mailto:bernard@example.com');
    assert.equal(originator('https://example.com/users/bernard'), 'https://example.com/users/bernard');
    assert.equal(
      codeOf(() => originator()),
      'originator-missing',
    );
    assert.equal(
      codeOf(() => originator('mailto:a@example.com', 'mailto:b@example.com')),
      'too-many-originators',
    );
    assert.equal(
      codeOf(() => originator('mailto:a@example.com, mailto:b@example.com')),
      'too-many-originators',
    );
    assert.equal(
      codeOf(() => originator('bernard')),
      'originator-invalid',
    );
    assert.equal(
      codeOf(() => originator('mailto:bernard')),
      'originator-invalid',
    );
  });

  it('read Recipients from several fields and lists, up to exactly max-recipients', () => {
    const recipients = (max: number, ...values: string[]) =>
      readRecipients(
        values.map((v) => ['Recipient', v]),
        max,
      );
    const three = ['mailto:a@example.org', 'mailto:b@example.org', 'mailto:c@example.org'];
    assert.deepEqual(recipients(3, `${three[0]}, ${three[1]}`, ` ${three[2]} `), three);
    assert.deepEqual(
      recipients(3, `${three[0]},,`, '', three[1] ?? ''),
      three.slice(0, 2),
      'empty entries are skipped',
    );
    assert.equal(
      codeOf(() => recipients(2, ...three)),
      'max-recipients',
    );
    assert.equal(
      codeOf(() => recipients(3, ...three, 'mailto:d@example.org')),
      'max-recipients',
    );
    assert.equal(
      codeOf(() => recipients(3)),
      'recipient-missing',
    );
    assert.equal(
      codeOf(() => recipients(3, ' , ')),
      'recipient-missing',
    );
    assert.equal(
      codeOf(() => recipients(3, three[0] ?? '', 'cyrus')),
      'recipient-invalid',
    );
  });

  it('take text/calendar in any case with or without parameters, and nothing else', () => {
    const type = (value: string) => readContentType([['Content-Type', value]]);
    assert.deepEqual(type('text/calendar'), {});
    assert.deepEqual(type('TEXT/CALENDAR; charset=utf8; method=reply'), { method: 'REPLY' });
    assert.deepEqual(type('text/calendar; component="VEVENT;x"; nonsense; method=REQUEST'), {
      component: 'VEVENT;X',
      method: 'REQUEST',
    });
    assert.deepEqual(type('text/calendar ;method=REQUEST'), { method: 'REQUEST' });
    assert.deepEqual(type('text/calendar; method=""; component=x"y"'), { component: 'X"Y"' });
    assert.deepEqual(
      type('text/calendar; method="REQUEST'),
      { method: '"REQUEST' },
      'an unclosed quote stays',
    );
    assert.deepEqual(type('text/calendar; method="'), { method: '"' }, 'a lone quote is not a quoted value');
    assert.deepEqual(type('text/calendar; charset=UTF-8'), {});
    for (const charset of ['utf-88', 'xutf-8', 'utf--8', '"latin1"']) {
      assert.equal(
        codeOf(() => type(`text/calendar; charset=${charset}`)),
        'invalid-calendar-data-type',
        charset,
      );
    }
    assert.equal(
      codeOf(() => readContentType([])),
      'invalid-calendar-data-type',
    );
    assert.equal(
      codeOf(() => type('application/calendar+xml')),
      'invalid-calendar-data-type',
    );
    assert.equal(
      codeOf(() => type('text/calendarx; method=REQUEST')),
      'invalid-calendar-data-type',
    );
    assert.equal(
      codeOf(() => type('text/calendar; charset=UTF-16')),
      'invalid-calendar-data-type',
    );
  });
});
