/**
 * Busy time of stored calendar objects: every VEVENT's instances within a range, recurrences
 * expanded by ical.js and bounded, transparent and cancelled events left out. Shared by the
 * adapters that compute free-busy themselves (the filesystem's, and the CalDAV gateway's for
 * servers without a free-busy-query REPORT).
 */
import ICAL from 'ical.js';
import { instanceBound } from './recurrence.js';
import type { BusyPeriod } from './schedule-message.js';

/** A range as ical.js times, made once per free-busy answer. */
export interface BusyRange {
  readonly start: ICAL.Time;
  readonly end: ICAL.Time;
}

export function busyRange(start: Date, end: Date): BusyRange {
  return { start: ICAL.Time.fromJSDate(start, true), end: ICAL.Time.fromJSDate(end, true) };
}

/**
 * Busy periods of one iCalendar object (a VCALENDAR's events, overridden instances related to
 * their master) within the range. At most `maxInstances` instances per recurring event.
 */
export function calendarBusyPeriods(
  calendar: ICAL.Component,
  range: BusyRange,
  maxInstances: number,
): BusyPeriod[] {
  registerZones(calendar);
  const busy: BusyPeriod[] = [];
  const events = calendar.getAllSubcomponents('vevent');
  for (const vevent of events) {
    if (vevent.hasProperty('recurrence-id')) continue;
    if (!expandable(vevent)) continue;
    const event = new ICAL.Event(vevent, { strictExceptions: true });
    for (const exception of events) {
      if (
        exception !== vevent &&
        exception.hasProperty('recurrence-id') &&
        exception.getFirstPropertyValue('uid') === event.uid
      ) {
        event.relateException(exception);
      }
    }
    busy.push(...eventBusy(event, range, maxInstances));
  }
  return busy;
}

/**
 * Whether ical.js can expand the event within bounds: a rule the receiver would refuse (one that
 * matches no date, or a shape ical.js iterates forever on) is skipped, not expanded.
 */
function expandable(vevent: ICAL.Component): boolean {
  try {
    instanceBound(vevent);
    return true;
  } catch {
    return false;
  }
}

function eventBusy(event: ICAL.Event, range: BusyRange, maxInstances: number): BusyPeriod[] {
  const periods: BusyPeriod[] = [];
  const add = (details: { startDate: ICAL.Time; endDate: ICAL.Time; item: ICAL.Event }) => {
    const component = details.item.component;
    if (String(component.getFirstPropertyValue('transp') ?? '').toUpperCase() === 'TRANSPARENT') return;
    const status = String(component.getFirstPropertyValue('status') ?? '').toUpperCase();
    if (status === 'CANCELLED') return;
    if (details.endDate.compare(range.start) <= 0 || details.startDate.compare(range.end) >= 0) return;
    periods.push({
      start: details.startDate.toJSDate(),
      end: details.endDate.toJSDate(),
      type: status === 'TENTATIVE' ? 'BUSY-TENTATIVE' : 'BUSY',
    });
  };
  if (!event.isRecurring()) {
    add({ startDate: event.startDate, endDate: event.endDate, item: event });
    return periods;
  }
  const iterator = event.iterator();
  for (let count = 0, next = iterator.next(); next && count < maxInstances; next = iterator.next(), count++) {
    if (next.compare(range.end) >= 0) break;
    add(event.getOccurrenceDetails(next));
  }
  return periods;
}

/** Makes the calendar's VTIMEZONEs known to ical.js so TZID times convert correctly. */
function registerZones(calendar: ICAL.Component): void {
  for (const zone of calendar.getAllSubcomponents('vtimezone')) {
    const tzid = String(zone.getFirstPropertyValue('tzid') ?? '');
    if (tzid && !ICAL.TimezoneService.has(tzid)) ICAL.TimezoneService.register(zone);
  }
}
