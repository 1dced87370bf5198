/**
 * The limits a receiver advertises (draft -05 §2.3) applied to a message: date range, number of
 * recurrence instances (bounded from the rules, never by expanding them) and attachment forms.
 */
import type ICAL from 'ical.js';
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
  for (const component of message.components) {
    for (const property of allProperties(component)) {
      if (property.type !== 'date' && property.type !== 'date-time' && property.type !== 'period') continue;
      for (const raw of property.jCal.slice(3) as unknown[]) {
        const value = Array.isArray(raw) ? String(raw[0]) : String(raw).split('/')[0]!;
        const key = comparable(value);
        const name = property.name.toUpperCase();
        if (min && key < min) {
          throw new IScheduleError(
            'min-date-time',
            `${name} ${value} is before the earliest date accepted, ${limits.minDateTime}`,
          );
        }
        if (max && key > max) {
          throw new IScheduleError(
            'max-date-time',
            `${name} ${value} is after the latest date accepted, ${limits.maxDateTime}`,
          );
        }
      }
    }
  }
}

/**
 * Every property of a component and its sub-components (VALARMs), VTIMEZONE excluded: its
 * historical onsets (1601, 1970) are no dates of the event, wherever a sender put it.
 */
function allProperties(component: ICAL.Component): ICAL.Property[] {
  return [
    ...component.getAllProperties(),
    ...component
      .getAllSubcomponents()
      .flatMap((child) => (child.name === 'vtimezone' ? [] : allProperties(child))),
  ];
}

/** "2004-09-02T13:00:00Z", "20040902T130000Z" or "2004-09-02" as "20040902T130000". */
function comparable(value: string): string {
  const digits = value.replace(/[^0-9]/g, '');
  return `${digits.slice(0, 8)}T${digits.slice(8, 14).padEnd(6, '0')}`;
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
  for (const component of message.components) {
    for (const attach of component.getAllProperties('attach')) {
      const inline =
        attach.type === 'binary' || String(attach.getParameter('encoding') ?? '').toUpperCase() === 'BASE64';
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
}
