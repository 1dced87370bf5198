/**
 * The limits a receiver advertises (draft -05 §2.3) applied to a message: date range, number of
 * recurrence instances (bounded from the rules, never by expanding them) and attachment forms.
 */
import { IScheduleError } from '../errors.js';
import type { ParsedMessage } from './message.js';

export interface MessageLimits {
  /** iCalendar UTC DATE-TIME, e.g. 19000101T000000Z. */
  readonly minDateTime?: string;
  readonly maxDateTime?: string;
  readonly maxInstances?: number;
  readonly attachments?: { readonly inline: boolean; readonly external: boolean };
}

export function checkLimits(message: ParsedMessage, limits: MessageLimits): void {
  if (limits.minDateTime || limits.maxDateTime) checkDates(message, limits);
  if (limits.maxInstances !== undefined) checkInstances(message, limits.maxInstances);
  if (limits.attachments) checkAttachments(message, limits.attachments);
}

function checkDates(message: ParsedMessage, limits: MessageLimits): void {
  const min = limits.minDateTime && comparable(limits.minDateTime);
  const max = limits.maxDateTime && comparable(limits.maxDateTime);
  for (const { property, value } of message.dates) {
    const key = comparable(value);
    if (min && key < min) {
      throw new IScheduleError(
        'min-date-time',
        `${property} ${value} is before the earliest date accepted, ${limits.minDateTime}`,
      );
    }
    if (max && key > max) {
      throw new IScheduleError(
        'max-date-time',
        `${property} ${value} is after the latest date accepted, ${limits.maxDateTime}`,
      );
    }
  }
}

/** "2004-09-02T13:00:00Z", "20040902T130000Z" or "2004-09-02" as "20040902T130000". */
export function comparable(value: string): string {
  // Both parsers give a message's date-times in jCal's form; the limits are in the basic form.
  if (hasShape(value, JCAL_DATE_TIME))
    return `${value.slice(0, 4)}${value.slice(5, 7)}${value.slice(8, 10)}T${value.slice(11, 13)}${value.slice(14, 16)}${value.slice(17, 19)}`;
  if (hasShape(value, BASIC_DATE_TIME)) return value.slice(0, 15);
  const digits = value.replace(/[^0-9]/g, '');
  return `${digits.slice(0, 8)}T${digits.slice(8, 14).padEnd(6, '0')}`;
}

/** Shapes of a date-time, "d" for a digit, optionally followed by "Z". */
const JCAL_DATE_TIME = 'dddd-dd-ddTdd:dd:dd';
const BASIC_DATE_TIME = 'ddddddddTdddddd';

function hasShape(value: string, shape: string): boolean {
  const length = shape.length;
  if (value.length !== length && !(value.length === length + 1 && value.charCodeAt(length) === 0x5a))
    return false;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    const wanted = shape.charCodeAt(i);
    if (wanted === 0x64 ? c < 0x30 || c > 0x39 : c !== wanted) return false;
  }
  return true;
}

function checkInstances(message: ParsedMessage, maxInstances: number): void {
  if (message.instances <= maxInstances) return;
  throw new IScheduleError(
    'max-instances',
    Number.isFinite(message.instances)
      ? `the message can have up to ${message.instances} instances, more than the ${maxInstances} accepted`
      : `the message has more than ${maxInstances} instances (an RRULE without COUNT or UNTIL has no end)`,
  );
}

function checkAttachments(message: ParsedMessage, allowed: { inline: boolean; external: boolean }): void {
  for (const inline of message.inlineAttachments) {
    if (inline && !allowed.inline) {
      throw new IScheduleError(
        'attachment-type-not-supported',
        'inline (base64) attachments are not accepted; send a URI',
      );
    }
    if (!inline && !allowed.external) {
      throw new IScheduleError(
        'attachment-type-not-supported',
        'external (URI) attachments are not accepted',
      );
    }
  }
}
