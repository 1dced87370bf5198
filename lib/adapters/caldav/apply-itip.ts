/**
 * What a calendar user agent does with an incoming iTIP message when the server has no
 * scheduling inbox (RFC 5546 §3.2): the new content of the recipient's stored object, or the
 * REQUEST-STATUS to answer without writing. Pure: the caller reads the stored object, applies,
 * and writes conditionally, retrying on a conflict with a fresh read.
 */
import ICAL from 'ical.js';
import { sameAddress } from '../../itip/address.js';
import type { DeliveryResult } from '../../receiver/options.js';
import {
  attendeeProperty,
  calendarText,
  copyComponent,
  dtstampOf,
  instanceKey,
  newCalendar,
  organizerOf,
  parseCalendar,
  schedulingComponents,
  sequenceOf,
  significantForm,
  timezonesOf,
  timingForm,
} from './calendar-object.js';

/** Write this object (create or replace), delete the stored one, or answer without a change. */
export type Application =
  | { readonly kind: 'write'; readonly text: string }
  | { readonly kind: 'delete' }
  | { readonly kind: 'answer'; readonly status: Exclude<DeliveryResult, undefined | string> };

const answer = (requestStatus: string, description: string): Application => ({
  kind: 'answer',
  status: { requestStatus, description },
});

const NO_AUTHORITY = (description: string) => answer('3.8;No authority', description);
const UNSUPPORTED = (description: string) => answer('3.14;Unsupported capability', description);
const KEPT = (description: string) => answer('2.0;Success', description);

/**
 * Applies `message` (iTIP text the receiver has checked) from `originator` to `recipient`'s
 * stored copy of the same UID (`stored`, or undefined when they hold none).
 */
export function applyItip(
  stored: string | undefined,
  message: string,
  originator: string,
  recipient: string,
): Application {
  const incoming = parseCalendar(message);
  const method = String(incoming.getFirstPropertyValue('method') ?? '').toUpperCase();
  const current = stored === undefined ? undefined : parseCalendar(stored);
  if (current && method !== 'REPLY') {
    // Only the organizer of the copy held may change it: a UID is no secret.
    const organizer = organizerOf(current);
    const theirs = organizerOf(incoming);
    if (!organizer || !theirs || !sameAddress(organizer, theirs))
      return NO_AUTHORITY('the recipient holds an event with this UID organized by someone else');
  }
  switch (method) {
    case 'REQUEST':
      return applyRequest(current, incoming, recipient);
    case 'CANCEL':
      return applyCancel(current, incoming);
    case 'REPLY':
      return applyReply(current, incoming, originator, recipient);
    case 'ADD':
      return applyAdd(current, incoming);
    default:
      // REFRESH, COUNTER, DECLINECOUNTER: for the user to see, and there is no inbox to show them in.
      return UNSUPPORTED(`this CalDAV server has no scheduling inbox to take a ${method} for its user`);
  }
}

/** Whether `incoming` is older than `held` (RFC 5546 §2.1.5: SEQUENCE, then DTSTAMP). */
function outdated(incoming: ICAL.Component, held: ICAL.Component | undefined): boolean {
  if (!held) return false;
  const order = sequenceOf(incoming) - sequenceOf(held);
  return order < 0 || (order === 0 && dtstampOf(incoming) < dtstampOf(held));
}

function byInstance(calendar: ICAL.Component | undefined): Map<string, ICAL.Component> {
  return new Map((calendar ? schedulingComponents(calendar) : []).map((c) => [instanceKey(c), c]));
}

function applyRequest(
  current: ICAL.Component | undefined,
  incoming: ICAL.Component,
  recipient: string,
): Application {
  const held = byInstance(current);
  const updates = schedulingComponents(incoming);
  const fresh = updates.filter((c) => !outdated(c, held.get(instanceKey(c)) ?? held.get('')));
  if (fresh.length === 0) return KEPT('older than the copy the recipient holds: kept theirs');
  const wholeEvent = fresh.some((c) => instanceKey(c) === '');
  // A whole-event update replaces every instance; an update of instances only those it names.
  const result = newCalendar(undefined, mergeZones(current, incoming));
  const kept = wholeEvent
    ? []
    : [...held.values()].filter((c) => !fresh.some((f) => instanceKey(f) === instanceKey(c)));
  for (const component of kept) result.addSubcomponent(copyComponent(component));
  for (const update of fresh) {
    const component = copyComponent(update);
    const before = held.get(instanceKey(update));
    if (before) keepAttendeeState(component, before, recipient);
    result.addSubcomponent(component);
  }
  return { kind: 'write', text: calendarText(result) };
}

/**
 * What the attendee made their own survives an update: their alarms always, their answer when
 * the organizer did not change when or how often it happens and asks nothing new of them.
 */
function keepAttendeeState(component: ICAL.Component, before: ICAL.Component, recipient: string): void {
  for (const alarm of before.getAllSubcomponents('valarm')) component.addSubcomponent(copyComponent(alarm));
  const mine = attendeeProperty(before, recipient);
  const theirs = attendeeProperty(component, recipient);
  const answered = mine?.getParameter('partstat');
  const asked = String(theirs?.getParameter('partstat') ?? 'NEEDS-ACTION').toUpperCase();
  if (mine && theirs && answered && asked === 'NEEDS-ACTION' && timingForm(before) === timingForm(component))
    theirs.setParameter('partstat', String(answered));
}

function applyCancel(current: ICAL.Component | undefined, incoming: ICAL.Component): Application {
  if (!current) return KEPT('the recipient holds no copy of this event: nothing to cancel');
  const held = byInstance(current);
  const cancels = schedulingComponents(incoming).filter(
    (c) => !outdated(c, held.get(instanceKey(c)) ?? held.get('')),
  );
  if (cancels.length === 0) return KEPT('older than the copy the recipient holds: kept theirs');
  if (cancels.some((c) => instanceKey(c) === '')) return { kind: 'delete' };
  const master = held.get('');
  for (const cancel of cancels) {
    const key = instanceKey(cancel);
    const override = held.get(key);
    if (override) current.removeSubcomponent(override);
    const rid = cancel.getFirstProperty('recurrence-id');
    if (master && rid) {
      const exdate = master.addPropertyWithValue('exdate', rid.getFirstValue() as ICAL.Time);
      const tzid = rid.getParameter('tzid');
      if (tzid) exdate.setParameter('tzid', String(tzid));
    }
  }
  if (schedulingComponents(current).length === 0) return { kind: 'delete' };
  return { kind: 'write', text: calendarText(current) };
}

function applyReply(
  current: ICAL.Component | undefined,
  incoming: ICAL.Component,
  originator: string,
  recipient: string,
): Application {
  if (!current) return NO_AUTHORITY('the organizer holds no event with this UID');
  const organizer = organizerOf(current);
  if (!organizer || !sameAddress(organizer, recipient))
    return NO_AUTHORITY('the recipient is not the organizer of the event with this UID');
  const held = byInstance(current);
  const master = held.get('');
  for (const reply of schedulingComponents(incoming)) {
    const key = instanceKey(reply);
    let target = held.get(key);
    if (!target && key && master) {
      // An answer for one instance of a series: that instance gets its own component.
      target = instanceOf(master, reply);
      current.addSubcomponent(target);
    }
    if (!target) return KEPT('the reply names an instance the organizer does not hold: ignored');
    if (sequenceOf(reply) < sequenceOf(target)) continue; // An answer to an older version.
    const answerer = attendeeProperty(reply, originator);
    const invited = attendeeProperty(target, originator);
    if (!answerer) return NO_AUTHORITY('the reply carries no ATTENDEE for its Originator');
    if (!invited) return NO_AUTHORITY('the Originator is not an attendee of this event');
    for (const name of ['partstat', 'delegated-to']) {
      const value = answerer.getParameter(name);
      if (value) invited.setParameter(name, value as string);
      else if (name === 'delegated-to') invited.removeParameter(name);
    }
    invited.removeParameter('rsvp');
  }
  return { kind: 'write', text: calendarText(current) };
}

/** A component for one instance of `master`: its properties, the instance's time, no rule. */
function instanceOf(master: ICAL.Component, reply: ICAL.Component): ICAL.Component {
  const instance = copyComponent(master);
  for (const name of ['rrule', 'rdate', 'exdate', 'exrule']) instance.removeAllProperties(name);
  for (const alarm of instance.getAllSubcomponents('valarm')) instance.removeSubcomponent(alarm);
  const rid = reply.getFirstProperty('recurrence-id');
  const start = master.getFirstPropertyValue('dtstart') as ICAL.Time | null;
  if (!rid || !start) return instance;
  const at = rid.getFirstValue() as ICAL.Time;
  instance.addProperty(new ICAL.Property(structuredClone(rid.toJSON())));
  const end = master.getFirstPropertyValue('dtend') as ICAL.Time | null;
  if (end) {
    const moved = at.clone();
    moved.addDuration(end.subtractDate(start));
    instance.updatePropertyWithValue('dtend', moved);
  }
  instance.updatePropertyWithValue('dtstart', at.clone());
  return instance;
}

function applyAdd(current: ICAL.Component | undefined, incoming: ICAL.Component): Application {
  if (!current)
    return UNSUPPORTED(
      'the recipient holds no copy of this event to add instances to; send the whole event as a REQUEST',
    );
  const master = byInstance(current).get('');
  for (const added of schedulingComponents(incoming)) {
    const start = added.getFirstProperty('dtstart');
    if (!start) continue;
    const component = copyComponent(added);
    component.removeAllProperties('recurrence-id');
    const rid = component.addPropertyWithValue('recurrence-id', (start.getFirstValue() as ICAL.Time).clone());
    const tzid = start.getParameter('tzid');
    if (tzid) rid.setParameter('tzid', String(tzid));
    if (master) {
      const rdate = master.addPropertyWithValue('rdate', (start.getFirstValue() as ICAL.Time).clone());
      if (tzid) rdate.setParameter('tzid', String(tzid));
    }
    current.addSubcomponent(component);
  }
  return { kind: 'write', text: calendarText(current) };
}

/** The time zones of both, the incoming ones winning for a TZID both define. */
function mergeZones(current: ICAL.Component | undefined, incoming: ICAL.Component): ICAL.Component[] {
  const zones = new Map<string, ICAL.Component>();
  for (const zone of [...(current ? timezonesOf(current) : []), ...timezonesOf(incoming)])
    zones.set(String(zone.getFirstPropertyValue('tzid')), zone);
  return [...zones.values()];
}

/** Whether two versions of an object differ in anything an attendee must be told. */
export function significantlyDifferent(a: ICAL.Component, b: ICAL.Component): boolean {
  const forms = (c: ICAL.Component) =>
    schedulingComponents(c)
      .map((x) => `${instanceKey(x)}\n${significantForm(x)}`)
      .sort()
      .join('\n\n');
  return forms(a) !== forms(b);
}
