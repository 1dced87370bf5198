/**
 * Checks ical.js does not make: ical.js is lenient (a mismatched END is accepted, 31 February
 * becomes 2 March), so the raw structure and every date are checked here first. The same pass
 * bounds the work ical.js will do: how many lines, components and parameters it must parse.
 */
import { IScheduleError } from '../errors.js';
import { printable } from '../text.js';

const MAX_DEPTH = 8;

/** How much iCalendar one message may hold (each bound keeps parsing within milliseconds). */
export interface StructureLimits {
  /** Content lines, after unfolding (default 10000). */
  readonly maxLines?: number;
  /** Components, VCALENDAR included (default 1000). */
  readonly maxComponents?: number;
  /** Parameters on one property (default 32) and in all (default 20000). */
  readonly maxParametersPerProperty?: number;
  readonly maxParameters?: number;
}

const DEFAULTS: Required<StructureLimits> = Object.freeze({
  maxLines: 10_000,
  maxComponents: 1000,
  maxParametersPerProperty: 32,
  maxParameters: 20_000,
});

/**
 * The limits, each one given or its default; worked out once for a frozen limits object (the
 * receiver's), which cannot change afterwards.
 */
export function structureBounds(limits?: StructureLimits): Required<StructureLimits> {
  if (!limits) return DEFAULTS;
  let bounds = resolvedBounds.get(limits);
  if (!bounds) {
    bounds = { ...DEFAULTS, ...limits };
    if (Object.isFrozen(limits)) resolvedBounds.set(limits, bounds);
  }
  return bounds;
}

const resolvedBounds = new WeakMap<StructureLimits, Required<StructureLimits>>();

/**
 * Balanced, matching BEGIN/END; exactly one VCALENDAR and nothing after it; within the limits.
 * Linear in the text: it runs before ical.js, whose parsing is not.
 */
export function checkStructure(text: string, limits: StructureLimits = {}): void {
  const bounds = structureBounds(limits);
  const lines = text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/, bounds.maxLines + 2);
  const open: string[] = [];
  let calendars = 0;
  let components = 0;
  let parameters = 0;
  let closed = false;
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    const at = `line ${index + 1}`;
    if (index >= bounds.maxLines) throw tooMuch(`more than ${bounds.maxLines} content lines`);
    if (closed) throw invalid(`content after END:VCALENDAR (${at})`);
    if (!/^[A-Za-z0-9-]+[;:]/.test(line)) throw invalid(`not an iCalendar content line (${at})`);
    const onLine = countParameters(line, bounds.maxParametersPerProperty);
    if (onLine > bounds.maxParametersPerProperty)
      throw tooMuch(`more than ${bounds.maxParametersPerProperty} parameters on one property (${at})`);
    parameters += onLine;
    if (parameters > bounds.maxParameters) throw tooMuch(`more than ${bounds.maxParameters} parameters`);
    const begin = /^BEGIN:(.*)$/i.exec(line);
    const end = /^END:(.*)$/i.exec(line);
    if (begin) {
      const name = (begin[1] ?? '').trim().toUpperCase();
      if (open.length === 0) {
        if (name !== 'VCALENDAR')
          throw invalid(`the object starts with BEGIN:${printable(name, 40)}, not BEGIN:VCALENDAR`);
        calendars++;
      }
      if (++components > bounds.maxComponents) throw tooMuch(`more than ${bounds.maxComponents} components`);
      open.push(name);
      if (open.length > MAX_DEPTH) throw invalid(`components nested deeper than ${MAX_DEPTH} (${at})`);
    } else if (end) {
      const name = (end[1] ?? '').trim().toUpperCase();
      const expected = open.pop();
      if (expected !== name) {
        const closes = expected ? `BEGIN:${printable(expected, 40)}` : 'nothing';
        throw invalid(`END:${printable(name, 40)} closes ${closes} (${at})`);
      }
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
  if (!isRealDateTime(year!, month!, day!, hour, minute, second)) {
    throw invalid(`${property} has an impossible ${type} "${value}"`);
  }
}

/** Whether the fields name a real date and time (a leap second allowed), as checkDateValue judges. */
export function isRealDateTime(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): boolean {
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return (
    month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 60
  );
}

/** Parameters before the value: unquoted semicolons before the first unquoted colon. */
function countParameters(line: string, stopAfter: number): number {
  // Most lines have no parameter: no ";" before the value's ":".
  const semicolon = line.indexOf(';');
  const colon = line.indexOf(':');
  if (semicolon < 0 || (colon >= 0 && semicolon > colon)) return 0;
  let count = 0;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x22) quoted = !quoted;
    else if (!quoted && c === 0x3a) break;
    else if (!quoted && c === 0x3b && ++count > stopAfter) break;
  }
  return count;
}

function tooMuch(description: string): IScheduleError {
  return new IScheduleError(
    'invalid-calendar-data',
    `the iCalendar data is larger than this receiver processes: ${description}`,
  );
}

function invalid(description: string): IScheduleError {
  return new IScheduleError('invalid-calendar-data', `invalid iCalendar data: ${description}`);
}
