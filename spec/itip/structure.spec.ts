/**
 * checkStructure and checkDateValue: what is refused before ical.js sees the text (it accepts a
 * mismatched END and turns 31 February into 2 March), and the bounds on how much it must parse.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDateValue, checkStructure, type StructureLimits } from '../../lib/itip/structure.js';
import { IScheduleError } from '../support/api.js';

const wrap = (...lines: string[]) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', ...lines, 'END:VCALENDAR', ''].join('\r\n');

function outcome(run: () => void): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof IScheduleError, String(error));
    assert.equal(error.code, 'invalid-calendar-data');
    return error.message;
  }
  return 'accepted';
}

const structure = (text: string, limits?: StructureLimits) => outcome(() => checkStructure(text, limits));

describe('checkStructure', () => {
  it('accepts one balanced VCALENDAR, folded lines, blank lines and LF line ends', () => {
    assert.equal(structure(wrap('BEGIN:VEVENT', 'SUMMARY:a\r\n  folded', 'END:VEVENT')), 'accepted');
    assert.equal(structure(wrap('BEGIN:VEVENT', 'END:VEVENT').replaceAll('\r\n', '\n')), 'accepted');
    assert.equal(structure(`\r\n${wrap('BEGIN:vevent', '', 'end:VEVENT')}\r\n`), 'accepted');
    assert.equal(
      structure(wrap('BEGIN:VEV\r\n ENT', 'SUMMARY:a\n\tb', 'END:VEVENT')),
      'accepted',
      'folded anywhere',
    );
    assert.equal(structure(wrap('BEGIN:VEVENT ', 'END:VEVENT\t')), 'accepted', 'whitespace after the name');
    assert.equal(structure(wrap('X-BEGIN:VEVENT', 'X-END:VTODO')), 'accepted', 'properties, not components');
  });

  it('refuses what ical.js would take: mismatched, unclosed or stray components', () => {
    const cases: Array<[string, RegExp]> = [
      [wrap('BEGIN:VEVENT', 'END:VTODO'), /END:VTODO closes BEGIN:VEVENT \(line 4\)/],
      [wrap('BEGIN:VEVENT'), /END:VCALENDAR closes BEGIN:VEVENT/],
      ['BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\n', /BEGIN:VCALENDAR is never closed/],
      [`${wrap()}END:VEVENT\r\n`, /content after END:VCALENDAR \(line 4\)/],
      [`${wrap()}${wrap()}`, /content after END:VCALENDAR/],
      ['BEGIN:VEVENT\r\nEND:VEVENT\r\n', /starts with BEGIN:VEVENT, not BEGIN:VCALENDAR/],
      ['SUMMARY:x\r\n', /a property outside BEGIN:VCALENDAR \(line 1\)/],
      ['END:VCALENDAR\r\n', /END:VCALENDAR closes nothing/],
      [wrap('not a content line'), /not an iCalendar content line \(line 3\)/],
      [wrap(':no name'), /not an iCalendar content line/],
      [wrap('@X-BAD:1'), /not an iCalendar content line/],
      ['', /holds no VCALENDAR/],
    ];
    for (const [text, message] of cases) assert.match(structure(text), message, JSON.stringify(text));
  });

  it('refuses components nested deeper than eight', () => {
    const nest = (depth: number) => [
      ...Array.from({ length: depth }, (_, i) => `BEGIN:X-${i}`),
      ...Array.from({ length: depth }, (_, i) => `END:X-${depth - 1 - i}`),
    ];
    assert.equal(structure(wrap(...nest(7))), 'accepted');
    assert.match(structure(wrap(...nest(8))), /nested deeper than 8/);
  });

  it('bounds lines, components and parameters, each at its limit', () => {
    const lines = (n: number) => wrap(...Array.from({ length: n - 3 }, (_, i) => `X-L:${i}`));
    assert.equal(structure(lines(20), { maxLines: 20 }), 'accepted');
    assert.match(structure(lines(21), { maxLines: 20 }), /more than 20 content lines/);

    const components = (n: number) =>
      wrap(...Array.from({ length: n - 1 }, () => ['BEGIN:X-C', 'END:X-C']).flat());
    assert.equal(structure(components(5), { maxComponents: 5 }), 'accepted');
    assert.match(structure(components(6), { maxComponents: 5 }), /more than 5 components/);

    const params = (n: number) => `X-P${';A=1'.repeat(n)}:value;with;semicolons`;
    assert.equal(structure(wrap(params(4)), { maxParametersPerProperty: 4 }), 'accepted');
    assert.match(
      structure(wrap(params(5)), { maxParametersPerProperty: 4 }),
      /more than 4 parameters on one property/,
    );
    assert.equal(
      structure(wrap('X-Q;A="a;b;c";B=2:v'), { maxParametersPerProperty: 2 }),
      'accepted',
      'quoted ;',
    );
    assert.equal(structure(wrap(params(3), params(3)), { maxParameters: 6 }), 'accepted');
    assert.match(
      structure(wrap(params(3), params(3), params(1)), { maxParameters: 6 }),
      /more than 6 parameters/,
    );
  });

  it('reads a limits object that can still change afresh each time (a frozen one is worked out once)', () => {
    const lines = (n: number) => wrap(...Array.from({ length: n - 3 }, (_, i) => `X-L:${i}`));
    const limits: { maxLines: number } = { maxLines: 20 };
    assert.equal(structure(lines(20), limits), 'accepted');
    limits.maxLines = 10;
    assert.match(structure(lines(20), limits), /more than 10 content lines/);
    const frozen = Object.freeze({ maxLines: 10 });
    assert.match(structure(lines(20), frozen), /more than 10 content lines/);
    assert.match(structure(lines(20), frozen), /more than 10 content lines/);
  });
});

describe('checkDateValue', () => {
  const date = (value: string, type: 'date' | 'date-time' = 'date-time') =>
    outcome(() => checkDateValue(value, type, 'DTSTART'));

  it('accepts real dates and times, 29 February of a leap year and a leap second', () => {
    for (const value of [
      '2024-02-29T00:00:00Z',
      '2025-12-31T23:59:59',
      '2016-12-31T23:59:60Z',
      '2025-01-31T12:00:00Z',
    ]) {
      assert.equal(date(value), 'accepted', value);
    }
    assert.equal(date('2024-02-29', 'date'), 'accepted');
  });

  it('refuses impossible dates and times and malformed values', () => {
    for (const value of [
      '2025-02-29T00:00:00Z',
      '2025-04-31T00:00:00Z',
      '2025-00-10T00:00:00Z',
      '2025-13-10T00:00:00Z',
      '2025-01-00T00:00:00Z',
      '2025-01-10T24:00:00Z',
      '2025-01-10T23:60:00Z',
      '2025-01-10T23:59:61Z',
      '2025-01-10',
      '2025-01-10T10:00:00+01:00',
      'x2025-01-10T10:00:00Z',
      '12025-01-10T10:00:00Z',
    ]) {
      assert.match(date(value), /impossible|malformed/, value);
    }
    assert.match(date('2025-02-30', 'date'), /impossible date "2025-02-30"/);
    assert.match(date('2025-01-10T10:00:00Z', 'date'), /malformed date/);
    assert.match(date('+2025-01-10', 'date'), /malformed date/);
  });
});
