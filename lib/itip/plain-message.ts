/**
 * The one-pass reading of a plain iTIP message: one VEVENT or VTODO with UTC or floating
 * date-times, no time zones, recurrence, VALUE=, alarms or attachments, parameters quoted only
 * around plain text. Most invitations, replies and cancellations are this; for them the ical.js
 * tree is built only if something reads it. Anything else, and anything this reading is not
 * sure of, gives `undefined`: the full parse then decides, so the outcome (facts, or the exact
 * refusal) is the full parse's either way (spec/itip/plain-message.spec.ts compares both).
 */
import ICAL from 'ical.js';
import type { DatedValue, ParsedMessage } from './message.js';
import { isRealDateTime, type StructureLimits, structureBounds } from './structure.js';

const TAB = 0x09;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COLON = 0x3a;
const SEMICOLON = 0x3b;

/** How a property of the scheduling component is read. */
type Reading = 'date-time' | 'uid' | 'organizer' | 'attendee' | 'any';

/** The properties a plain scheduling component may hold (a switch: no hashing of each name). */
function readingOf(name: string): Reading | undefined {
  switch (name) {
    case 'DTSTAMP':
    case 'DTSTART':
    case 'DTEND':
    case 'DUE':
    case 'CREATED':
    case 'LAST-MODIFIED':
    case 'COMPLETED':
      return 'date-time';
    case 'UID':
      return 'uid';
    case 'ORGANIZER':
      return 'organizer';
    case 'ATTENDEE':
      return 'attendee';
    case 'SEQUENCE':
    case 'PRIORITY':
    case 'SUMMARY':
    case 'DESCRIPTION':
    case 'LOCATION':
    case 'COMMENT':
    case 'STATUS':
    case 'TRANSP':
    case 'CLASS':
    case 'URL':
    case 'DURATION':
      return 'any';
    default:
      return name.startsWith('X-') ? 'any' : undefined;
  }
}

const PLAIN_DATE_TIME = /^\d{8}T\d{6}Z?$/;
const METHOD_NAME = /^[A-Za-z-]+$/;
const PARAMETER_NAME = /^[A-Za-z0-9-]+$/;
/** What a quoted parameter value may hold here: text without quote, ";", ":", "," or controls. */
const PLAIN_QUOTED = /^[ !#-+\--9<-~\u0080-\uffff]*$/;
/** An unquoted parameter value (";" or ":" ends it): no quote or control character. */
const PLAIN_UNQUOTED = /^[ !#-~\u0080-\uffff]*$/;

/** One content line, split as ical.js splits it. */
interface ContentLine {
  readonly name: string;
  readonly parameters: number;
  readonly value: string;
}

/**
 * The message's facts when it is plain, else `undefined` (the full parse then answers). Never
 * throws for any text.
 */
export function parsePlainMessage(text: string, limits?: StructureLimits): ParsedMessage | undefined {
  const bounds = structureBounds(limits);
  if (bounds.maxComponents < 2) return undefined;
  const lines = new UnfoldedLines(text);
  if (lines.next() !== 'BEGIN:VCALENDAR') return undefined;

  let method: string | undefined;
  let version = false;
  let begin: string | undefined;
  let parameters = 0;
  for (;;) {
    const line = lines.next();
    if (line === undefined) return undefined;
    if (line.startsWith('BEGIN:')) {
      begin = line;
      break;
    }
    const property = splitLine(line, bounds.maxParametersPerProperty);
    if (!property || property.parameters > 0) return undefined;
    if (property.name === 'VERSION') {
      if (version || property.value !== '2.0') return undefined;
      version = true;
    } else if (property.name === 'METHOD') {
      if (method !== undefined || !METHOD_NAME.test(property.value)) return undefined;
      method = property.value.toUpperCase();
    } else if (
      property.name !== 'PRODID' &&
      property.name !== 'CALSCALE' &&
      !property.name.startsWith('X-')
    ) {
      return undefined;
    }
  }
  if (!version || method === undefined) return undefined;
  const component = begin === 'BEGIN:VEVENT' ? 'VEVENT' : begin === 'BEGIN:VTODO' ? 'VTODO' : undefined;
  if (!component) return undefined;

  let uid: string | undefined;
  let organizer: string | undefined;
  const attendees: string[] = [];
  const dates: DatedValue[] = [];
  for (;;) {
    const line = lines.next();
    if (line === undefined) return undefined;
    if (line === `END:${component}`) break;
    const property = splitLine(line, bounds.maxParametersPerProperty);
    if (!property) return undefined;
    parameters += property.parameters;
    const { name, value } = property;
    const reading = readingOf(name);
    if (reading === 'date-time') {
      const date = property.parameters === 0 ? plainDateTime(value) : undefined;
      if (!date) return undefined;
      dates.push({ property: name, value: date });
    } else if (reading === 'uid') {
      if (uid !== undefined || value === '' || value.includes('\\')) return undefined;
      uid = value;
    } else if (reading === 'organizer') {
      if (organizer !== undefined || value === '' || value.includes(',')) return undefined;
      organizer = value;
    } else if (reading === 'attendee') {
      if (value === '' || value.includes(',')) return undefined;
      attendees.push(value);
    } else if (reading !== 'any') {
      return undefined;
    }
  }
  if (lines.next() !== 'END:VCALENDAR' || !lines.finished) return undefined;
  if (uid === undefined || organizer === undefined) return undefined;
  if (lines.count > bounds.maxLines || parameters > bounds.maxParameters) return undefined;
  return new PlainMessage(text, method, component, uid, organizer, attendees, dates);
}

/**
 * The content lines of a text, unfolded as the full parse unfolds them (a CRLF or LF followed
 * by one space or tab joins two lines). A line the plain reading does not take (an empty one,
 * a lone CR, leading whitespace) ends the reading: `undefined`, and `finished` stays false.
 */
class UnfoldedLines {
  readonly #text: string;
  #position = 0;
  #failed = false;
  /** Lines read so far. */
  count = 0;

  constructor(text: string) {
    this.#text = text;
  }

  /** Whether the whole text was read (nothing after the last line's end). */
  get finished(): boolean {
    return !this.#failed && this.#position >= this.#text.length;
  }

  next(): string | undefined {
    const text = this.#text;
    if (this.#failed || this.#position >= text.length) return undefined;
    let line = '';
    let start = this.#position;
    for (;;) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      line += text.slice(start, end > start && text.charCodeAt(end - 1) === CR ? end - 1 : end);
      start = end + 1;
      const next = text.charCodeAt(start);
      if (next !== SPACE && next !== TAB) break;
      start++;
    }
    this.#position = start;
    this.count++;
    const first = line.charCodeAt(0);
    if (line === '' || line.includes('\r') || first === SPACE || first === TAB) {
      this.#failed = true;
      return undefined;
    }
    return line;
  }
}

/** A content line's name, parameter count and value, or undefined when it is not plain. */
function splitLine(line: string, maxParameters: number): ContentLine | undefined {
  // The name: an upper-case letter, then upper-case letters, digits and "-".
  let i = 0;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === SEMICOLON || c === COLON) break;
    const letter = c >= 0x41 && c <= 0x5a;
    if (!letter && (i === 0 || !((c >= 0x30 && c <= 0x39) || c === 0x2d))) return undefined;
  }
  if (i === 0 || i === line.length) return undefined;
  const name = line.slice(0, i);
  let parameters = 0;
  while (line.charCodeAt(i) === SEMICOLON) {
    if (++parameters > maxParameters) return undefined;
    const equals = line.indexOf('=', i + 1);
    if (equals < 0) return undefined;
    const parameter = line.slice(i + 1, equals);
    if (!PARAMETER_NAME.test(parameter)) return undefined;
    const lower = parameter.toLowerCase();
    if (lower === 'value' || lower === 'tzid') return undefined;
    if (line.charCodeAt(equals + 1) === QUOTE) {
      const close = line.indexOf('"', equals + 2);
      if (close < 0 || !PLAIN_QUOTED.test(line.slice(equals + 2, close))) return undefined;
      i = close + 1;
      const after = line.charCodeAt(i);
      if (after !== SEMICOLON && after !== COLON) return undefined;
    } else {
      let end = equals + 1;
      while (end < line.length) {
        const c = line.charCodeAt(end);
        if (c === SEMICOLON || c === COLON) break;
        end++;
      }
      if (end === line.length || !PLAIN_UNQUOTED.test(line.slice(equals + 1, end))) return undefined;
      i = end;
    }
  }
  // Here line[i] is the ":" that starts the value.
  return { name, parameters, value: line.slice(i + 1) };
}

/**
 * `20040902T130000Z` as jCal writes it (`2004-09-02T13:00:00Z`), when it is a real date-time
 * (isRealDateTime, as the full parse judges it); else undefined. Read digit by digit.
 */
function plainDateTime(value: string): string | undefined {
  if (!PLAIN_DATE_TIME.test(value)) return undefined;
  const real = isRealDateTime(
    digits(value, 0, 4),
    digits(value, 4, 6),
    digits(value, 6, 8),
    digits(value, 9, 11),
    digits(value, 11, 13),
    digits(value, 13, 15),
  );
  if (!real) return undefined;
  return `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}T${value.slice(9, 11)}:${value.slice(11, 13)}:${value.slice(13)}`;
}

function digits(text: string, from: number, to: number): number {
  let number = 0;
  for (let i = from; i < to; i++) number = number * 10 + text.charCodeAt(i) - 0x30;
  return number;
}

/** A plain message: its facts read in one pass, its ical.js tree made on first use. */
class PlainMessage implements ParsedMessage {
  readonly text: string;
  readonly method: string;
  readonly component: string;
  readonly uid: string;
  readonly organizer: string;
  readonly attendees: readonly string[];
  readonly instances = 1;
  readonly attendeeCounts: readonly number[];
  readonly dates: readonly DatedValue[];
  readonly inlineAttachments: readonly boolean[] = [];
  #calendar: ICAL.Component | undefined;

  constructor(
    text: string,
    method: string,
    component: string,
    uid: string,
    organizer: string,
    attendees: readonly string[],
    dates: readonly DatedValue[],
  ) {
    this.text = text;
    this.method = method;
    this.component = component;
    this.uid = uid;
    this.organizer = organizer;
    this.attendees = attendees.filter((attendee, index) => attendees.indexOf(attendee) === index);
    this.attendeeCounts = [attendees.length];
    this.dates = dates;
  }

  get calendar(): ICAL.Component {
    this.#calendar ??= new ICAL.Component(ICAL.parse(this.text) as unknown[]);
    return this.#calendar;
  }

  get components(): readonly ICAL.Component[] {
    return this.calendar.getAllSubcomponents();
  }
}
