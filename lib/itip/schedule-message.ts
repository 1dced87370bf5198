/**
 * What hosts exchange with the receiver about messages: the iTIP message as plain frozen facts
 * and its text (no parse tree, so these types do not pull in ical.js's), and busy periods.
 */
import { parseMessageTree } from './message.js';
import type { StructureLimits } from './structure.js';

/**
 * What the receiver's adapter is told about a message: plain, frozen data. Each recipient's call
 * gets the same object; a host that wants a tree parses `text` itself (ICAL.parse), so no call
 * can change what another sees.
 */
export interface ScheduleMessage {
  /** The iCalendar text exactly as received or given. */
  readonly text: string;
  /** METHOD, upper-cased. */
  readonly method: string;
  /** The scheduling component type, upper-cased: VEVENT, VTODO, VFREEBUSY, ... */
  readonly component: string;
  readonly uid: string;
  /** ORGANIZER, as written (the same on every component). */
  readonly organizer: string | undefined;
  /** ATTENDEE values of every component, unique, in order of appearance. */
  readonly attendees: readonly string[];
  /**
   * An upper bound on the instances the message describes, found from its rules without
   * expanding them (COUNT, or the periods up to UNTIL, plus RDATEs); Infinity for an RRULE
   * without end.
   */
  readonly instances: number;
}

/** FBTYPE values a busy period may carry. */
export type BusyType = 'BUSY' | 'BUSY-UNAVAILABLE' | 'BUSY-TENTATIVE';

/** A busy period a host's getFreeBusy answers; the receiver builds the VFREEBUSY reply from them. */
export interface BusyPeriod {
  readonly start: Date | string;
  readonly end: Date | string;
  /** FBTYPE (default BUSY). */
  readonly type?: BusyType;
}

/**
 * Parses and checks an iTIP message as the receiver does. Throws an IScheduleError:
 * `invalid-calendar-data` when the text is not valid iCalendar (or larger than `limits` allow),
 * `invalid-scheduling-message` when it breaks iTIP's shape.
 */
export function parseScheduleMessage(text: string, limits?: StructureLimits): ScheduleMessage {
  return messageFacts(parseMessageTree(text, limits));
}

/** The frozen facts of a message (a parsed one keeps its tree to itself). */
export function messageFacts(message: ScheduleMessage): ScheduleMessage {
  const { text, method, component, uid, organizer, attendees, instances } = message;
  return Object.freeze({
    text,
    method,
    component,
    uid,
    organizer,
    attendees: Object.freeze([...attendees]),
    instances,
  });
}
