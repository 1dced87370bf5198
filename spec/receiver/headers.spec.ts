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
  it('answer any header list with a value or an IScheduleError', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(names, values), { maxLength: 8 }), (headers) => {
        for (const step of [
          () => checkVersion(headers),
          () => readContentType(headers),
          () => readOriginator(headers),
          () => readRecipients(headers, 3),
        ]) {
          try {
            step();
          } catch (error) {
            assert.ok(error instanceof IScheduleError, String(error));
          }
        }
        return true;
      }),
      { numRuns: 3000 },
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
});
