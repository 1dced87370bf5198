/**
 * The VFREEBUSY REPLY a receiver returns for each recipient of a free-busy request (draft -05
 * §3.1, Appendix A.2), built from the busy periods the host reports.
 */
import ICAL from 'ical.js';
import type { ParsedMessage } from './message.js';
import type { BusyPeriod, BusyType } from './schedule-message.js';

export interface FreeBusyRange {
  readonly start: Date;
  readonly end: Date;
}

/** The requested range of a free-busy request (DTSTART/DTEND of its VFREEBUSY, UTC). */
export function freeBusyRange(message: ParsedMessage): FreeBusyRange {
  const component = message.components[0]!;
  const start = component.getFirstPropertyValue('dtstart') as ICAL.Time;
  const end = component.getFirstPropertyValue('dtend') as ICAL.Time;
  return { start: start.toJSDate(), end: end.toJSDate() };
}

/**
 * The REPLY for one attendee: periods clipped to the range, sorted, merged per FBTYPE, and
 * invalid ones (end not after start, unparseable) dropped. More than `maxPeriods` are coalesced
 * across the shortest free gaps: short free time may show as busy, but no free time is invented.
 */
export function buildFreeBusyReply(
  request: ParsedMessage,
  attendee: string,
  busy: readonly BusyPeriod[],
  now: Date = new Date(),
  maxPeriods = Number.POSITIVE_INFINITY,
): string {
  const range = freeBusyRange(request);
  const byType = new Map<BusyType, Array<[number, number]>>();
  for (const period of busy) {
    const start = Math.max(new Date(period.start).getTime(), range.start.getTime());
    const end = Math.min(new Date(period.end).getTime(), range.end.getTime());
    if (!(end > start)) continue;
    const type = period.type ?? 'BUSY';
    const list = byType.get(type) ?? [];
    list.push([start, end]);
    byType.set(type, list);
  }
  const vfreebusy = new ICAL.Component('vfreebusy');
  vfreebusy.addPropertyWithValue('uid', request.uid);
  vfreebusy.addPropertyWithValue('dtstamp', utc(now.getTime()));
  vfreebusy.addPropertyWithValue('dtstart', utc(range.start.getTime()));
  vfreebusy.addPropertyWithValue('dtend', utc(range.end.getTime()));
  const organizer = request.components[0]!.getFirstProperty('organizer');
  if (organizer) vfreebusy.addProperty(new ICAL.Property(organizer.toJSON()));
  vfreebusy.addPropertyWithValue('attendee', attendee);
  const merged = new Map([...byType].map(([type, list]) => [type, merge(list)] as const));
  coalesce(merged, maxPeriods);
  for (const type of ['BUSY-UNAVAILABLE', 'BUSY', 'BUSY-TENTATIVE'] as const) {
    const periods = merged.get(type) ?? [];
    if (periods.length === 0) continue;
    const property = new ICAL.Property('freebusy');
    property.setParameter('fbtype', type);
    property.setValues(
      periods.map(([s, e]) => ICAL.Period.fromData({ start: utc(s), end: utc(e), duration: undefined })),
    );
    vfreebusy.addProperty(property);
  }
  const calendar = new ICAL.Component('vcalendar');
  calendar.addPropertyWithValue('version', '2.0');
  calendar.addPropertyWithValue('prodid', '-//express-ischedule//NONSGML iSchedule//EN');
  calendar.addPropertyWithValue('method', 'REPLY');
  calendar.addSubcomponent(vfreebusy);
  return `${calendar.toString()}\r\n`;
}

function merge(periods: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...periods].sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [start, end] of sorted) {
    const last = merged.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/** Joins each type's periods across their shortest gaps until at most `max` remain in all. */
function coalesce(byType: Map<BusyType, Array<[number, number]>>, max: number): void {
  const total = [...byType.values()].reduce((sum, list) => sum + list.length, 0);
  if (total <= max) return;
  const gaps = [...byType.values()]
    .flatMap((list) => list.slice(1).map((period, i) => period[0] - list[i]![1]))
    .sort((a, b) => a - b);
  // Joining every gap up to this one removes enough periods (ties may remove a few more).
  const widest = gaps[Math.min(gaps.length, total - Math.max(max, byType.size)) - 1] ?? 0;
  for (const [type, list] of byType) {
    const joined: Array<[number, number]> = [];
    for (const period of list) {
      const last = joined.at(-1);
      if (last && period[0] - last[1] <= widest) last[1] = period[1];
      else joined.push([period[0], period[1]]);
    }
    byType.set(type, joined);
  }
}

function utc(ms: number): ICAL.Time {
  return ICAL.Time.fromJSDate(new Date(ms), true);
}
