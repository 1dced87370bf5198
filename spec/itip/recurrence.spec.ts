/**
 * The instance bound must never be lower than the real count: checked against ical.js's own
 * expansion, on rules drawn at random from the shapes calendar clients send.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import ICAL from 'ical.js';
import { instanceBound } from '../../lib/itip/recurrence.js';
import { IScheduleError } from '../support/api.js';

const component = (dtstart: string, rule: string) =>
  new ICAL.Component(
    ICAL.parse(
      `BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTART:${dtstart}\r\nRRULE:${rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`,
    ) as unknown[],
  ).getFirstSubcomponent('vevent')!;

function expanded(event: ICAL.Component, cap: number): number {
  const expansion = new ICAL.RecurExpansion({
    component: event,
    dtstart: event.getFirstPropertyValue('dtstart') as ICAL.Time,
  });
  let count = 0;
  while (expansion.next() && count <= cap) count++;
  return count;
}

const weekdays = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
const pad = (n: number) => String(n).padStart(2, '0');

const ruleArbitrary = fc
  .record({
    freq: fc.constantFrom('DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'),
    interval: fc.integer({ min: 1, max: 3 }),
    byDay: fc.subarray(weekdays, { maxLength: 3 }),
    ordinal: fc.constantFrom(0, 1, 2, -1),
    byMonth: fc.subarray([1, 2, 3, 6, 9, 12], { maxLength: 3 }),
    byMonthDay: fc.subarray([1, 2, 15, 28, 29, 30, 31, -1], { maxLength: 2 }),
    bySetPos: fc.constantFrom(0, 1, -1),
    years: fc.integer({ min: 0, max: 3 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
  })
  .map((r) => {
    const parts = [`FREQ=${r.freq}`, `INTERVAL=${r.interval}`];
    const ordinals = r.ordinal !== 0 && (r.freq === 'MONTHLY' || r.freq === 'YEARLY');
    if (r.byDay.length)
      parts.push(`BYDAY=${r.byDay.map((d) => (ordinals ? `${r.ordinal}${d}` : d)).join(',')}`);
    if (r.byMonth.length) parts.push(`BYMONTH=${r.byMonth.join(',')}`);
    if (r.byMonthDay.length && r.freq !== 'WEEKLY') parts.push(`BYMONTHDAY=${r.byMonthDay.join(',')}`);
    if (r.bySetPos && (r.byDay.length || r.byMonthDay.length)) parts.push(`BYSETPOS=${r.bySetPos}`);
    parts.push(`UNTIL=${2021 + r.years}${pad(r.month)}${pad(r.day)}T235959Z`);
    return { dtstart: `2020${pad(r.month)}${pad(r.day)}T100000Z`, rule: parts.join(';') };
  });

describe('instanceBound', () => {
  it('is never below the instances ical.js expands, for rules with UNTIL', () => {
    fc.assert(
      fc.property(ruleArbitrary, ({ dtstart, rule }) => {
        const event = component(dtstart, rule);
        let bound: number;
        try {
          bound = instanceBound(event);
        } catch (error) {
          // Refused: a rule that matches no date, or a shape ical.js cannot expand.
          assert.ok(
            error instanceof IScheduleError && /can match no date|does not accept/.test(error.message),
            `${rule}: ${error}`,
          );
          return;
        }
        let actual: number;
        try {
          actual = expanded(event, bound + 1);
        } catch {
          return; // ical.js refuses some valid shapes (BYDAY with a negative BYMONTHDAY): no oracle.
        }
        assert.ok(actual <= bound, `${rule} from ${dtstart}: ${actual} instances, bound ${bound}`);
      }),
      { numRuns: 300, seed: 20261202 },
    );
  });

  it('is close to the count for the rules clients send', () => {
    for (const rule of [
      'FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20211231T235959Z',
      'FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20211231T235959Z',
      'FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20251231T235959Z',
      'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;UNTIL=20251231T235959Z',
      'FREQ=YEARLY;BYMONTH=3;BYDAY=2SU;UNTIL=20401231T235959Z',
      'FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;UNTIL=20241231T235959Z',
      'FREQ=MONTHLY;BYMONTHDAY=15;COUNT=40',
    ]) {
      const event = component('20200106T100000Z', rule);
      const actual = expanded(event, 10_000);
      const bound = instanceBound(event);
      assert.ok(
        bound >= actual && bound <= actual * 1.03 + 4,
        `${rule}: ${actual} instances, bound ${bound}`,
      );
    }
    assert.equal(instanceBound(component('20200106T100000Z', 'FREQ=DAILY')), Number.POSITIVE_INFINITY);
  });

  it('bounds sub-daily rules too', () => {
    for (const rule of [
      'FREQ=HOURLY;UNTIL=20200206T000000Z',
      'FREQ=HOURLY;BYHOUR=9,10;BYDAY=MO,TU;UNTIL=20200406T000000Z',
      'FREQ=HOURLY;INTERVAL=5;BYMINUTE=0,30;UNTIL=20200306T000000Z',
      'FREQ=MINUTELY;INTERVAL=30;UNTIL=20200110T000000Z',
      'FREQ=MINUTELY;BYHOUR=9;BYMINUTE=0,15,30,45;UNTIL=20200201T000000Z',
      'FREQ=SECONDLY;INTERVAL=3600;UNTIL=20200108T000000Z',
    ]) {
      const event = component('20200106T100000Z', rule);
      const bound = instanceBound(event);
      const actual = expanded(event, bound + 1);
      assert.ok(
        bound >= actual && bound <= actual * 1.1 + 40,
        `${rule}: ${actual} instances, bound ${bound}`,
      );
    }
  });
});
