/**
 * An iTIP scheduling message (RFC 5546) as iSchedule carries it: one VCALENDAR with a METHOD and
 * one kind of scheduling component (plus VTIMEZONEs), all sharing one UID.
 */
import ICAL from 'ical.js';
import { IScheduleError } from '../errors.js';
import { parsePlainMessage } from './plain-message.js';
import { instanceBound } from './recurrence.js';
import type { ScheduleMessage } from './schedule-message.js';
import { checkDateValue, checkStructure, type StructureLimits } from './structure.js';

/**
 * The message as the package's own checks read it. Its ical.js tree is never shared out (hosts
 * get the plain facts, see parseScheduleMessage); for a plain message it is built only if read.
 */
export interface ParsedMessage extends ScheduleMessage {
  /** The parsed VCALENDAR. */
  readonly calendar: ICAL.Component;
  /** The scheduling components (every child but VTIMEZONE). */
  readonly components: readonly ICAL.Component[];
  /** How many ATTENDEEs each scheduling component carries, in order. */
  readonly attendeeCounts: readonly number[];
  /**
   * Every DATE, DATE-TIME and PERIOD (its start) of the scheduling components and their
   * sub-components (VTIMEZONE aside), in order, as jCal writes them (`2004-09-02T13:00:00Z`).
   */
  readonly dates: readonly DatedValue[];
  /** Per ATTACH of the scheduling components, in order: whether it is inline (base64). */
  readonly inlineAttachments: readonly boolean[];
}

/** A date value and the property (upper-case) it belongs to. */
export interface DatedValue {
  readonly property: string;
  readonly value: string;
}

const DATE_PROPERTIES_WITH_PERIODS = new Set(['period']);

/**
 * Parses and checks an iTIP message. Throws an IScheduleError: `invalid-calendar-data` when the
 * text is not valid iCalendar (or larger than `limits` allow), `invalid-scheduling-message` when
 * it breaks iTIP's shape. A plain message (most are) is read in one pass; anything else, and
 * every refusal, by ical.js (parseFullMessage), with the same outcome either way.
 */
export function parseMessageTree(text: string, limits?: StructureLimits): ParsedMessage {
  return parsePlainMessage(text, limits) ?? parseFullMessage(text, limits);
}

/** parseMessageTree through ical.js, whatever the message holds. */
export function parseFullMessage(text: string, limits?: StructureLimits): ParsedMessage {
  checkStructure(text, limits);
  let calendar: ICAL.Component;
  try {
    calendar = new ICAL.Component(ICAL.parse(text) as unknown[]);
  } catch (error) {
    throw new IScheduleError('invalid-calendar-data', `invalid iCalendar data: ${(error as Error).message}`);
  }
  if (calendar.name !== 'vcalendar')
    throw new IScheduleError('invalid-calendar-data', 'the body is not a VCALENDAR');
  if (calendar.getFirstPropertyValue('version') !== '2.0') {
    throw new IScheduleError('invalid-calendar-data', 'the VCALENDAR has no VERSION:2.0');
  }
  checkValues(calendar);

  const method = String(calendar.getFirstPropertyValue('method') ?? '').toUpperCase();
  if (!method) throw scheduling('the VCALENDAR has no METHOD');
  const components = calendar.getAllSubcomponents().filter((c) => c.name !== 'vtimezone');
  if (components.length === 0) throw scheduling('the VCALENDAR holds no scheduling component');
  const component = components[0]!.name.toUpperCase();
  if (components.some((c) => c.name.toUpperCase() !== component)) {
    throw scheduling('a scheduling message must hold one kind of component (besides VTIMEZONE)');
  }
  const uids = new Set(components.map((c) => String(c.getFirstPropertyValue('uid') ?? '')));
  const uid = [...uids][0] ?? '';
  if (!uid || uids.size !== 1) throw scheduling('every component must carry the same UID');
  const organizers = new Set(components.map((c) => String(c.getFirstPropertyValue('organizer') ?? '')));
  if (organizers.size !== 1) throw scheduling('every component must name the same ORGANIZER');
  const organizer = [...organizers][0] || undefined;
  const attendeeLists = components.map((c) =>
    c.getAllProperties('attendee').map((p) => String(p.getFirstValue())),
  );
  const attendees = [...new Set(attendeeLists.flat())];
  if (component === 'VFREEBUSY' && method === 'REQUEST') checkFreeBusyRange(components);
  // Overridden instances (RECURRENCE-ID) replace an instance of the master: not extra ones.
  let instances = 0;
  for (const c of components) {
    const bound = instanceBound(c);
    if (!c.hasProperty('recurrence-id')) instances += bound;
  }
  return {
    text,
    calendar,
    method,
    component,
    uid,
    components,
    organizer,
    attendees,
    instances,
    attendeeCounts: attendeeLists.map((list) => list.length),
    dates: components.flatMap(datedValues),
    inlineAttachments: components.flatMap((c) => c.getAllProperties('attach').map(isInline)),
  };
}

/**
 * The date values of a component and its sub-components (VALARMs), VTIMEZONE excluded: its
 * historical onsets (1601, 1970) are no dates of the event, wherever a sender put it.
 */
function datedValues(component: ICAL.Component): DatedValue[] {
  const dates: DatedValue[] = [];
  for (const property of component.getAllProperties()) {
    if (property.type !== 'date' && property.type !== 'date-time' && property.type !== 'period') continue;
    for (const raw of property.jCal.slice(3) as unknown[]) {
      const value = Array.isArray(raw) ? String(raw[0]) : String(raw).split('/')[0]!;
      dates.push({ property: property.name.toUpperCase(), value });
    }
  }
  for (const child of component.getAllSubcomponents())
    if (child.name !== 'vtimezone') dates.push(...datedValues(child));
  return dates;
}

function isInline(attach: ICAL.Property): boolean {
  return attach.type === 'binary' || String(attach.getParameter('encoding') ?? '').toUpperCase() === 'BASE64';
}

/** Every date, date-time and period value is a real date; every TZID is defined or known. */
function checkValues(calendar: ICAL.Component): void {
  const zones = new Set(
    calendar.getAllSubcomponents('vtimezone').map((z) => String(z.getFirstPropertyValue('tzid') ?? '')),
  );
  const visit = (component: ICAL.Component) => {
    for (const property of component.getAllProperties()) {
      const type = property.type;
      const values = property.jCal.slice(3) as unknown[];
      for (const value of values) {
        if (type === 'date' || type === 'date-time')
          checkDateValue(String(value), type, property.name.toUpperCase());
        if (DATE_PROPERTIES_WITH_PERIODS.has(type)) {
          const [start, end] = Array.isArray(value) ? value : String(value).split('/');
          checkDateValue(String(start), 'date-time', property.name.toUpperCase());
          if (end && !String(end).startsWith('P') && !String(end).startsWith('-P')) {
            checkDateValue(String(end), 'date-time', property.name.toUpperCase());
          }
        }
      }
      const tzid = property.getParameter('tzid');
      if (typeof tzid === 'string' && !zones.has(tzid) && !knownZone(tzid)) {
        throw new IScheduleError(
          'invalid-calendar-data',
          `invalid iCalendar data: TZID "${tzid}" has no VTIMEZONE and is not a known time zone`,
        );
      }
    }
    for (const child of component.getAllSubcomponents()) visit(child);
  };
  visit(calendar);
}

function knownZone(tzid: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tzid });
    return true;
  } catch {
    return false;
  }
}

/** A free-busy request needs a UTC range (Apple refuses anything else, and so do we). */
function checkFreeBusyRange(components: readonly ICAL.Component[]): void {
  for (const c of components) {
    const start = c.getFirstPropertyValue('dtstart') as ICAL.Time | null;
    const end = c.getFirstPropertyValue('dtend') as ICAL.Time | null;
    if (!start || !end) throw scheduling('a VFREEBUSY request needs DTSTART and DTEND');
    if (start.zone !== ICAL.Timezone.utcTimezone || end.zone !== ICAL.Timezone.utcTimezone) {
      throw scheduling('a VFREEBUSY request needs DTSTART and DTEND in UTC');
    }
    if (end.compare(start) <= 0) throw scheduling('the VFREEBUSY DTEND is not after DTSTART');
  }
}

function scheduling(description: string): IScheduleError {
  return new IScheduleError('invalid-scheduling-message', `invalid scheduling message: ${description}`);
}
