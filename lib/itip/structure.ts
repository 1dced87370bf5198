/**
 * Checks ical.js does not make: ical.js is lenient (a mismatched END is accepted, 31 February
 * becomes 2 March), so the raw structure and every date are checked here first.
 */
import { IScheduleError } from '../errors.js';

const MAX_DEPTH = 8;

/** Balanced, matching BEGIN/END; exactly one VCALENDAR and nothing after it. */
export function checkStructure(text: string): void {
  const lines = text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/);
  const open: string[] = [];
  let calendars = 0;
  let closed = false;
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    const at = `line ${index + 1}`;
    if (closed) throw invalid(`content after END:VCALENDAR (${at})`);
    if (!/^[A-Za-z0-9-]+[;:]/.test(line)) throw invalid(`not an iCalendar content line (${at})`);
    const begin = /^BEGIN:(.*)$/i.exec(line);
    const end = /^END:(.*)$/i.exec(line);
    if (begin) {
      const name = (begin[1] ?? '').trim().toUpperCase();
      if (open.length === 0) {
        if (name !== 'VCALENDAR') throw invalid(`the object starts with BEGIN:${name}, not BEGIN:VCALENDAR`);
        calendars++;
      }
      open.push(name);
      if (open.length > MAX_DEPTH) throw invalid(`components nested deeper than ${MAX_DEPTH} (${at})`);
    } else if (end) {
      const name = (end[1] ?? '').trim().toUpperCase();
      const expected = open.pop();
      if (expected !== name)
        throw invalid(`END:${name} closes ${expected ? `BEGIN:${expected}` : 'nothing'} (${at})`);
      if (open.length === 0) closed = true;
    } else if (open.length === 0) {
      throw invalid(`a property outside BEGIN:VCALENDAR (${at})`);
    }
  }
  if (open.length > 0) throw invalid(`BEGIN:${open.at(-1)} is never closed`);
  if (calendars !== 1) throw invalid('the body holds no VCALENDAR');
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z?$/;

/** Checks one jCal date or date-time value for an impossible date or time. */
export function checkDateValue(value: string, type: 'date' | 'date-time', property: string): void {
  const match = (type === 'date' ? DATE : DATE_TIME).exec(value);
  if (!match) throw invalid(`${property} has a malformed ${type} value "${value}"`);
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1).map(Number) as number[];
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (
    month! < 1 ||
    month! > 12 ||
    day! < 1 ||
    day! > daysInMonth ||
    hour > 23 ||
    minute > 59 ||
    second > 60
  ) {
    throw invalid(`${property} has an impossible ${type} "${value}"`);
  }
}

function invalid(description: string): IScheduleError {
  return new IScheduleError('invalid-calendar-data', `invalid iCalendar data: ${description}`);
}
