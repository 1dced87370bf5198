/**
 * Reading and building the iCalendar objects a CalDAV server stores, for the gateway: the
 * scheduling components of an object, how an instance is named (RECURRENCE-ID), what counts as
 * a significant change, and the iTIP messages made from a stored object.
 */
import ICAL from 'ical.js';
import { sameAddress } from '../../itip/address.js';

export const PRODID = '-//express-ischedule//CalDAV gateway//EN';

/** Parses iCalendar text into its VCALENDAR; throws on text that is not iCalendar. */
export function parseCalendar(text: string): ICAL.Component {
  const component = new ICAL.Component(ICAL.parse(text) as unknown[]);
  if (component.name !== 'vcalendar') throw new SyntaxError('not a VCALENDAR');
  return component;
}

/** The VEVENTs and VTODOs of an object, master first when there is one. */
export function schedulingComponents(calendar: ICAL.Component): ICAL.Component[] {
  const found = calendar.getAllSubcomponents().filter((c) => c.name === 'vevent' || c.name === 'vtodo');
  return found.sort(
    (a, b) => Number(a.hasProperty('recurrence-id')) - Number(b.hasProperty('recurrence-id')),
  );
}

/** The instance a component describes: '' for the master, else its RECURRENCE-ID in UTC. */
export function instanceKey(component: ICAL.Component): string {
  const value = component.getFirstPropertyValue('recurrence-id');
  if (!value) return '';
  const time = value as ICAL.Time;
  return time.isDate ? time.toString() : time.convertToZone(ICAL.Timezone.utcTimezone).toString();
}

export function uidOf(calendar: ICAL.Component): string | undefined {
  const uid = schedulingComponents(calendar)[0]?.getFirstPropertyValue('uid');
  return uid === null || uid === undefined ? undefined : String(uid);
}

export function organizerOf(calendar: ICAL.Component): string | undefined {
  for (const component of schedulingComponents(calendar)) {
    const organizer = component.getFirstPropertyValue('organizer');
    if (organizer) return String(organizer);
  }
  return undefined;
}

export function sequenceOf(component: ICAL.Component): number {
  const value = Number(component.getFirstPropertyValue('sequence') ?? 0);
  return Number.isFinite(value) ? value : 0;
}

/** DTSTAMP as seconds since the epoch (0 when missing). */
export function dtstampOf(component: ICAL.Component): number {
  const value = component.getFirstPropertyValue('dtstamp') as ICAL.Time | null;
  return value ? value.toUnixTime() : 0;
}

/** The ATTENDEE property of a component for an address, if the address is invited. */
export function attendeeProperty(component: ICAL.Component, address: string): ICAL.Property | undefined {
  return component.getAllProperties('attendee').find((p) => sameAddress(String(p.getFirstValue()), address));
}

export function attendeeAddresses(calendar: ICAL.Component): string[] {
  const seen = new Map<string, string>();
  for (const component of schedulingComponents(calendar))
    for (const property of component.getAllProperties('attendee')) {
      const address = String(property.getFirstValue());
      if (!seen.has(address.toLowerCase())) seen.set(address.toLowerCase(), address);
    }
  return [...seen.values()];
}

export function partstatOf(component: ICAL.Component, address: string): string {
  return String(
    attendeeProperty(component, address)?.getParameter('partstat') ?? 'NEEDS-ACTION',
  ).toUpperCase();
}

/** Properties whose change alone is not a change of the event (bookkeeping and client state). */
const VOLATILE_PROPERTIES = new Set(['dtstamp', 'last-modified', 'created', 'sequence']);
/** ATTENDEE/ORGANIZER parameters that record scheduling state, not what was agreed. */
const VOLATILE_PARAMETERS = new Set(['partstat', 'rsvp', 'schedule-status', 'schedule-force-send']);

/**
 * What an attendee must be told about when it changes: every property of the component but the
 * bookkeeping ones, client extensions (X-) and alarms, and participants without their replies.
 * Two versions whose forms are equal need no new REQUEST.
 */
export function significantForm(component: ICAL.Component): string {
  const properties: string[] = [];
  for (const property of component.getAllProperties()) {
    const name = property.name;
    if (VOLATILE_PROPERTIES.has(name) || name.startsWith('x-')) continue;
    const json = property.toJSON() as [string, Record<string, unknown>, ...unknown[]];
    const parameters = Object.entries(json[1])
      .filter(([key]) => !VOLATILE_PARAMETERS.has(key) && !key.startsWith('x-'))
      .sort(([a], [b]) => a.localeCompare(b));
    properties.push(JSON.stringify([name, parameters, json.slice(2)]));
  }
  return properties.sort().join('\n');
}

/** The times that make an instance (a change to them resets the attendees' answers). */
const TIMING_PROPERTIES = ['dtstart', 'dtend', 'duration', 'due', 'rrule', 'rdate', 'exdate'];

export function timingForm(component: ICAL.Component): string {
  return TIMING_PROPERTIES.map((name) =>
    JSON.stringify(component.getAllProperties(name).map((p) => p.toJSON())),
  ).join('\n');
}

/** A new VCALENDAR with our PRODID, the given METHOD (or none, for storing) and time zones. */
export function newCalendar(
  method: string | undefined,
  zones: readonly ICAL.Component[] = [],
): ICAL.Component {
  const calendar = new ICAL.Component('vcalendar');
  calendar.addPropertyWithValue('version', '2.0');
  calendar.addPropertyWithValue('prodid', PRODID);
  if (method) calendar.addPropertyWithValue('method', method);
  for (const zone of zones) calendar.addSubcomponent(copyComponent(zone));
  return calendar;
}

/** A deep copy (ical.js's toJSON hands out the component's own arrays). */
export function copyComponent(component: ICAL.Component): ICAL.Component {
  return new ICAL.Component(structuredClone(component.toJSON()));
}

export function timezonesOf(calendar: ICAL.Component): ICAL.Component[] {
  return calendar.getAllSubcomponents('vtimezone');
}

/** iCalendar text with CRLF line ends, as CalDAV servers and iSchedule expect. */
export function calendarText(calendar: ICAL.Component): string {
  return `${calendar.toString().replace(/\r?\n/g, '\r\n')}\r\n`;
}
