/**
 * How many instances a recurring component can have, found from its rule alone: no expansion.
 * Expanding a hostile RRULE with ical.js is not bounded (a rule whose dates never occur, such as
 * FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30, makes one step of its iterator run forever), so the
 * receiver never expands. Instead it checks the rule (RFC 5545 §3.3.10), refuses rules that can
 * match no date, and computes an upper bound on the instances from the number of periods
 * between DTSTART and UNTIL and what each period can hold.
 */
import type ICAL from 'ical.js';
import { IScheduleError } from '../errors.js';
import { printable } from '../text.js';
import { checkDateValue } from './structure.js';

type Frequency = 'SECONDLY' | 'MINUTELY' | 'HOURLY' | 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'YEARLY';

const FREQUENCIES = new Set<string>([
  'SECONDLY',
  'MINUTELY',
  'HOURLY',
  'DAILY',
  'WEEKLY',
  'MONTHLY',
  'YEARLY',
]);
const SECONDS: Record<Frequency, number> = {
  SECONDLY: 1,
  MINUTELY: 60,
  HOURLY: 3600,
  DAILY: 86400,
  WEEKLY: 604800,
  MONTHLY: 0,
  YEARLY: 0,
};
/** DTSTART may be local time and UNTIL UTC: allow the widest offset between them. */
const ZONE_SLACK_SECONDS = 14 * 3600;
const WEEKDAY = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/;
/** Longest list a BYxxx part may have (BYYEARDAY can name every day of a year). */
const MAX_LIST = 366;

interface Rule {
  readonly freq: Frequency;
  readonly interval: number;
  readonly count?: number;
  readonly until?: Fields;
  readonly byDay: ReadonlyArray<{ readonly ordinal: number; readonly weekday: string }>;
  readonly byMonth: readonly number[];
  readonly byMonthDay: readonly number[];
  readonly byYearDay: readonly number[];
  readonly byWeekNo: readonly number[];
  readonly byHour: readonly number[];
  readonly byMinute: readonly number[];
  readonly bySecond: readonly number[];
  readonly bySetPos: readonly number[];
}

/** A date-time's calendar fields, without a time zone. */
interface Fields {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly seconds: number;
}

/**
 * An upper bound on the instances of a component: RRULE occurrences (or COUNT) plus RDATE
 * values; EXDATEs are not subtracted. Throws `invalid-calendar-data` for a rule that is
 * malformed or matches no date, `invalid-scheduling-message` for a recurrence without DTSTART.
 */
export function instanceBound(component: ICAL.Component): number {
  const rules = component.getAllProperties('rrule');
  const rdates = component
    .getAllProperties('rdate')
    .reduce((sum, property) => sum + property.jCal.length - 3, 0);
  if (rules.length === 0 && rdates === 0) return 1;
  const start = component.getFirstPropertyValue('dtstart') as ICAL.Time | null;
  if (!start) throw new IScheduleError('invalid-scheduling-message', 'a recurring component has no DTSTART');
  let bound = rdates + (rules.length === 0 ? 1 : 0);
  for (const property of rules) bound += ruleBound(readRule(property), fieldsOf(start));
  return bound;
}

function ruleBound(rule: Rule, start: Fields): number {
  checkSatisfiable(rule);
  if (rule.count !== undefined) return rule.count; // COUNT includes DTSTART.
  if (!rule.until) return Number.POSITIVE_INFINITY;
  // DTSTART is always the first instance, whether the rule matches it or not.
  return 1 + untilBound(rule, rule.until, start);
}

/** Instances the rule can generate from DTSTART to UNTIL, DTSTART itself aside. */
function untilBound(rule: Rule, until: Fields, start: Fields): number {
  const span = secondsOf(until) - secondsOf(start) + ZONE_SLACK_SECONDS;
  if (span < 0) return 0;
  const days = Math.floor(span / 86400) + 2;
  const months = (until.year - start.year) * 12 + (until.month - start.month) + 2;
  const years = until.year - start.year + 2;
  const matchingMonths =
    rule.byMonth.length === 0
      ? months
      : Math.min(months, (Math.floor(months / 12) + 1) * rule.byMonth.length);
  // Implementations disagree on BYSETPOS (ical.js applies it only to MONTHLY with BYDAY, and per
  // month in YEARLY with BYMONTH): it narrows the bound only where they all agree.
  const setPosApplies = rule.freq === 'MONTHLY' && rule.byDay.length > 0 && rule.byMonthDay.length === 0;
  const setPos = (perPeriod: number) =>
    setPosApplies && rule.bySetPos.length ? Math.min(perPeriod, rule.bySetPos.length) : perPeriod;
  const size = (list: readonly unknown[], otherwise: number) => (list.length ? list.length : otherwise);
  const perDay = size(rule.byHour, 1) * size(rule.byMinute, 1) * size(rule.bySecond, 1);
  // Per month (or per year without BYMONTH), how many days a plain weekday or an ordinal can name.
  const byDayIn = (weeks: number) => rule.byDay.reduce((sum, d) => sum + (d.ordinal ? 1 : weeks), 0);

  switch (rule.freq) {
    case 'YEARLY': {
      // Each day-level part present bounds the days of a year (the others only narrow them);
      // with none, the day is DTSTART's, once a year or once in each BYMONTH month.
      const expanders: number[] = [];
      if (rule.byYearDay.length) expanders.push(rule.byYearDay.length);
      if (rule.byMonthDay.length) expanders.push(size(rule.byMonth, 12) * rule.byMonthDay.length);
      if (rule.byWeekNo.length) expanders.push(rule.byWeekNo.length * size(rule.byDay, 1));
      if (rule.byDay.length && !rule.byWeekNo.length)
        expanders.push(rule.byMonth.length ? rule.byMonth.length * byDayIn(5) : byDayIn(53));
      const perYear = expanders.length ? Math.min(366, ...expanders) : size(rule.byMonth, 1);
      return periods(years, rule.interval) * setPos(perYear * perDay);
    }
    case 'MONTHLY': {
      const expanders: number[] = [];
      if (rule.byMonthDay.length) expanders.push(rule.byMonthDay.length);
      if (rule.byDay.length) expanders.push(byDayIn(5));
      const perMonth = expanders.length ? Math.min(31, ...expanders) : 1;
      return Math.min(periods(months, rule.interval), matchingMonths) * setPos(perMonth * perDay);
    }
    case 'WEEKLY': {
      const perWeek = size(rule.byDay, 1);
      // A month touches at most six weeks.
      const weeks = Math.min(periods(Math.floor(days / 7) + 2, rule.interval), matchingMonths * 6);
      return weeks * setPos(perWeek * perDay);
    }
    default: {
      const dayBound = Math.min(
        days,
        rule.byDay.length ? (Math.floor(days / 7) + 1) * rule.byDay.length : days,
        rule.byMonth.length ? matchingMonths * 31 : days,
        rule.byMonthDay.length ? months * rule.byMonthDay.length : days,
        rule.byYearDay.length ? years * rule.byYearDay.length : days,
      );
      if (rule.freq === 'DAILY') return Math.min(periods(days, rule.interval), dayBound) * setPos(perDay);
      // Sub-daily: each period holds what its finer parts expand to; a day holds what BYHOUR,
      // BYMINUTE and BYSECOND allow.
      const unit = SECONDS[rule.freq];
      const expansion =
        rule.freq === 'HOURLY'
          ? size(rule.byMinute, 1) * size(rule.bySecond, 1)
          : rule.freq === 'MINUTELY'
            ? size(rule.bySecond, 1)
            : 1;
      const perDayMax =
        size(rule.byHour, 24) *
        (rule.freq === 'HOURLY' ? size(rule.byMinute, 1) : size(rule.byMinute, 60)) *
        (rule.freq === 'SECONDLY' ? size(rule.bySecond, 60) : size(rule.bySecond, 1));
      const total = (Math.floor(span / (unit * rule.interval)) + 2) * setPos(expansion);
      return Math.min(total, dayBound * perDayMax);
    }
  }
}

/** Periods of `interval` units starting within `units` units. */
function periods(units: number, interval: number): number {
  return Math.floor((units - 1) / interval) + 1;
}

/**
 * A rule whose day-level parts exclude every date (BYMONTH=2;BYMONTHDAY=30, BYDAY=1MO with
 * BYMONTHDAY=15, ...) has no instances after DTSTART, and iterators search for one forever.
 * Every date of a leap year and of a common year is tried against BYMONTH, BYMONTHDAY,
 * BYYEARDAY and the position an ordinal BYDAY allows (a plain weekday falls on any date in some
 * year, so it excludes nothing).
 */
function checkSatisfiable(rule: Rule): void {
  const ordinals = rule.byDay.some((d) => d.ordinal) && !rule.byDay.some((d) => !d.ordinal);
  if (!rule.byMonth.length && !rule.byMonthDay.length && !rule.byYearDay.length && !ordinals) return;
  const withinMonth = rule.freq === 'MONTHLY' || rule.byMonth.length > 0;
  const matches = (position: number, length: number, list: readonly number[]) =>
    list.some((n) => (n > 0 ? n === position : length + n + 1 === position));
  const inWindow = (position: number, length: number) =>
    rule.byDay.some(({ ordinal }) => {
      const first = ordinal > 0 ? 7 * (ordinal - 1) + 1 : length + 7 * ordinal + 1;
      return position >= first && position < first + 7;
    });
  for (const yearLength of [366, 365]) {
    let yearDay = 0;
    for (let month = 1; month <= 12; month++) {
      const monthLength = new Date(Date.UTC(yearLength === 366 ? 2024 : 2023, month, 0)).getUTCDate();
      for (let day = 1; day <= monthLength; day++) {
        yearDay++;
        if (rule.byMonth.length && !rule.byMonth.includes(month)) continue;
        if (rule.byMonthDay.length && !matches(day, monthLength, rule.byMonthDay)) continue;
        if (rule.byYearDay.length && !matches(yearDay, yearLength, rule.byYearDay)) continue;
        if (ordinals && !(withinMonth ? inWindow(day, monthLength) : inWindow(yearDay, yearLength))) continue;
        return;
      }
    }
  }
  throw invalid('the RRULE can match no date');
}

/** The rule's parts, checked as RFC 5545 §3.3.10 requires. */
function readRule(property: ICAL.Property): Rule {
  let value: ICAL.Recur;
  try {
    value = property.getFirstValue() as ICAL.Recur;
  } catch (error) {
    throw invalid(`unreadable RRULE (${printable((error as Error).message, 60)})`);
  }
  const raw = (property.jCal[3] ?? {}) as Record<string, unknown>;
  const freq = String(value.freq ?? '');
  if (!FREQUENCIES.has(freq)) throw invalid('the RRULE has no valid FREQ');
  const parts = value.parts as Record<string, unknown[] | undefined>;
  const numbers = (name: string, low: number, high: number, zero = false): number[] => {
    const list = (parts[name] ?? []).map(Number);
    if (list.length > MAX_LIST) throw invalid(`the RRULE's ${name} lists more than ${MAX_LIST} values`);
    for (const n of list) {
      if (!Number.isInteger(n) || Math.abs(n) > high || n < low || (!zero && n === 0))
        throw invalid(`the RRULE's ${name} has a value out of range`);
    }
    return list;
  };
  const byDay = (parts.BYDAY ?? []).map((entry) => {
    const match = WEEKDAY.exec(String(entry));
    if (!match) throw invalid('the RRULE has a malformed BYDAY');
    const ordinal = Number(match[1] ?? 0);
    if (Math.abs(ordinal) > 53 || (match[1] !== undefined && ordinal === 0))
      throw invalid('the RRULE has a BYDAY ordinal out of range');
    return { ordinal, weekday: match[2]! };
  });
  const rule: Rule = {
    freq: freq as Frequency,
    interval: value.interval ?? 1,
    ...(value.count !== null && value.count !== undefined && { count: value.count }),
    ...(raw.until !== undefined && { until: untilOf(raw.until, value.until) }),
    byDay,
    byMonth: numbers('BYMONTH', 1, 12),
    byMonthDay: numbers('BYMONTHDAY', -31, 31),
    byYearDay: numbers('BYYEARDAY', -366, 366),
    byWeekNo: numbers('BYWEEKNO', -53, 53),
    byHour: numbers('BYHOUR', 0, 23, true),
    byMinute: numbers('BYMINUTE', 0, 59, true),
    bySecond: numbers('BYSECOND', 0, 60, true),
    bySetPos: numbers('BYSETPOS', -366, 366),
  };
  checkCombination(rule);
  return rule;
}

/** The combinations RFC 5545 forbids (MUST NOT), which iterators handle unpredictably. */
function checkCombination(rule: Rule): void {
  if (rule.count !== undefined && rule.until) throw invalid('the RRULE has both COUNT and UNTIL');
  if (rule.count !== undefined && !(Number.isInteger(rule.count) && rule.count >= 1))
    throw invalid('the RRULE has a COUNT below 1');
  const { freq } = rule;
  if (rule.byWeekNo.length && freq !== 'YEARLY') throw invalid('BYWEEKNO is only allowed with FREQ=YEARLY');
  if (rule.byYearDay.length && ['DAILY', 'WEEKLY', 'MONTHLY'].includes(freq))
    throw invalid(`BYYEARDAY is not allowed with FREQ=${freq}`);
  if (rule.byMonthDay.length && freq === 'WEEKLY')
    throw invalid('BYMONTHDAY is not allowed with FREQ=WEEKLY');
  // Valid, but ical.js (what most Node calendar servers expand with) throws on the first and
  // searches forever on the second: a delivered message must not hang the host that stores it.
  if (rule.byYearDay.length && freq !== 'YEARLY')
    throw notAccepted(`BYYEARDAY with FREQ=${freq}; use FREQ=YEARLY`);
  if (SUB_MONTHLY.has(freq) && rule.byMonthDay.some((n) => n < 0))
    throw notAccepted(`a negative BYMONTHDAY with FREQ=${freq}; write FREQ=MONTHLY;BYMONTHDAY=-1`);
  const ordinal = rule.byDay.find((d) => d.ordinal);
  if (ordinal) {
    if (freq !== 'MONTHLY' && freq !== 'YEARLY')
      throw invalid(`a BYDAY with an ordinal is only allowed with FREQ=MONTHLY or YEARLY`);
    if (freq === 'YEARLY' && rule.byWeekNo.length)
      throw invalid('a BYDAY with an ordinal is not allowed with BYWEEKNO');
    if ((freq === 'MONTHLY' || rule.byMonth.length) && Math.abs(ordinal.ordinal) > 5)
      throw invalid('a BYDAY ordinal within a month must be from -5 to 5');
  }
}

function untilOf(raw: unknown, parsed: ICAL.Time | null | undefined): Fields {
  const text = String(raw);
  checkDateValue(text, text.includes('T') ? 'date-time' : 'date', 'RRULE UNTIL');
  if (!parsed) throw invalid('the RRULE has an unreadable UNTIL');
  return fieldsOf(parsed);
}

function fieldsOf(time: ICAL.Time): Fields {
  return {
    year: time.year,
    month: time.month,
    day: time.day,
    seconds: time.isDate ? 86399 : time.hour * 3600 + time.minute * 60 + time.second,
  };
}

function secondsOf(fields: Fields): number {
  return Date.UTC(fields.year, fields.month - 1, fields.day) / 1000 + fields.seconds;
}

const SUB_MONTHLY = new Set(['SECONDLY', 'MINUTELY', 'HOURLY', 'DAILY']);

function notAccepted(what: string): IScheduleError {
  return new IScheduleError('invalid-calendar-data', `this receiver does not accept an RRULE with ${what}`);
}

function invalid(description: string): IScheduleError {
  return new IScheduleError('invalid-calendar-data', `invalid iCalendar data: ${description}`);
}
