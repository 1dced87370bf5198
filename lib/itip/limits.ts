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
  // The form nearly every date takes (UTC or floating DATE-TIME): already comparable.
  if (
    (value.length === 15 || (value.length === 16 && value.charCodeAt(15) === 0x5a)) &&
    value.charCodeAt(8) === 0x54 &&
    digitsOnly(value, 0, 8) &&
    digitsOnly(value, 9, 15)
  )
    return value.slice(0, 15);
  const digits = value.replace(/[^0-9]/g, '');
  return `${digits.slice(0, 8)}T${digits.slice(8, 14).padEnd(6, '0')}`;
}

function digitsOnly(value: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
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
