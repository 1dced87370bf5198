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
  const min = limits.minDateTime === undefined ? undefined : comparable(limits.minDateTime);
  const max = limits.maxDateTime === undefined ? undefined : comparable(limits.maxDateTime);
  for (const { property, value } of message.dates) {
    const key = comparable(value);
    if (min !== undefined && key < min) {
      throw new IScheduleError(
        'min-date-time',
        `${property} ${value} is before the earliest date accepted, ${limits.minDateTime}`,
      );
    }
    if (max !== undefined && key > max) {
      throw new IScheduleError(
        'max-date-time',
        `${property} ${value} is after the latest date accepted, ${limits.maxDateTime}`,
      );
    }
  }
}

/**
 * "2004-09-02T13:00:00Z", "20040902T130000Z" or "2004-09-02" as the number 20040902130000,
 * which orders as the dates do: the first 8 digits, then the next 6 padded with zeros. A number,
 * not a string: both parsers give a message's date-times in jCal's form and the limits are in the
 * basic form, and strings rebuilt from pieces are compared only once flattened.
 */
export function comparable(value: string): number {
  if (hasShape(value, JCAL_DATE_TIME)) return readDigits(value, JCAL_DIGITS);
  if (hasShape(value, BASIC_DATE_TIME)) return readDigits(value, BASIC_DIGITS);
  const digits = value.replace(/[^0-9]/g, '');
  return Number(`${digits.slice(0, 8).padEnd(8, '0')}${digits.slice(8, 14).padEnd(6, '0')}`);
}

/** Shapes of a date-time, "d" for a digit, optionally followed by "Z"; where their digits are. */
const JCAL_DATE_TIME = 'dddd-dd-ddTdd:dd:dd';
const BASIC_DATE_TIME = 'ddddddddTdddddd';
const digitPositions = (shape: string) => [...shape].flatMap((c, i) => (c === 'd' ? [i] : []));
const JCAL_DIGITS = digitPositions(JCAL_DATE_TIME);
const BASIC_DIGITS = digitPositions(BASIC_DATE_TIME);

function readDigits(value: string, positions: readonly number[]): number {
  let number = 0;
  for (const at of positions) number = number * 10 + value.charCodeAt(at) - 0x30;
  return number;
}

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
