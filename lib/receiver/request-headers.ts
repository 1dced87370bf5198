/** The iSchedule request headers, checked in the order of the spec digest's §9. */

import { IScheduleError } from '../errors.js';
import { type HeaderList, headerValues } from '../http/headers.js';
import { isCalendarAddress } from '../itip/address.js';
import { TextMemo } from '../lru.js';
import { printable } from '../text.js';

export interface ContentType {
  readonly component?: string;
  readonly method?: string;
}

/** iSchedule-Version must be present and list 1.0 (a comma-separated list is allowed). */
export function checkVersion(headers: HeaderList): void {
  const values = headerValues(headers, 'iSchedule-Version');
  if (values.length === 0)
    throw new IScheduleError('version-not-supported', 'the iSchedule-Version header is missing; send 1.0');
  // What nearly every sender sends: nothing to split.
  if (values.length === 1 && values[0] === '1.0') return;
  const versions = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  if (!versions.includes('1.0')) {
    throw new IScheduleError(
      'version-not-supported',
      `iSchedule-Version ${versions.join(', ')} is not supported; this receiver speaks 1.0`,
    );
  }
}

/** Content-Type must be text/calendar (UTF-8); its component and method parameters are returned. */
export function readContentType(headers: HeaderList): ContentType {
  const values = headerValues(headers, 'Content-Type');
  if (values.length !== 1) {
    throw new IScheduleError(
      'invalid-calendar-data-type',
      values.length ? 'more than one Content-Type header' : 'no Content-Type header',
    );
  }
  // A sender sends the same Content-Type every time: each text is judged once.
  return contentTypes.get(values[0]!, parseContentType);
}

const contentTypes = new TextMemo<ContentType>();

function parseContentType(value: string): ContentType {
  const type = value.split(';', 1)[0]!.trim();
  if (type.toLowerCase() !== 'text/calendar') {
    throw new IScheduleError(
      'invalid-calendar-data-type',
      `Content-Type ${type} is not supported: send text/calendar`,
    );
  }
  const parameters = new Map<string, string>();
  // PARAMETER starts at a ";", so the type before the first one is never taken for a parameter.
  for (const [, name, raw] of value.matchAll(PARAMETER)) {
    parameters.set(name!.toLowerCase(), unquote(raw!.trim()));
  }
  const charset = parameters.get('charset');
  if (charset && !/^utf-?8$/i.test(charset)) {
    throw new IScheduleError('invalid-calendar-data-type', `charset ${charset} is not supported: send UTF-8`);
  }
  const component = parameters.get('component')?.toUpperCase();
  const method = parameters.get('method')?.toUpperCase();
  return Object.freeze({ ...(component && { component }), ...(method && { method }) });
}

/** Exactly one Originator header holding one calendar address. */
export function readOriginator(headers: HeaderList): string {
  const values = headerValues(headers, 'Originator');
  if (values.length === 0) throw new IScheduleError('originator-missing', 'the Originator header is missing');
  if (values.length > 1 || values[0]!.includes(',')) {
    throw new IScheduleError('too-many-originators', 'send exactly one Originator header with one address');
  }
  const originator = values[0]!.trim();
  if (!isCalendarAddress(originator)) {
    throw new IScheduleError(
      'originator-invalid',
      `the Originator "${printable(originator)}" is not a calendar user address`,
    );
  }
  return originator;
}

/**
 * The Recipients, as received (one or more headers, comma-separated), within max-recipients.
 * `bareAddresses` lets a draft -01 peer's `user@domain` through (see asMailto).
 */
export function readRecipients(headers: HeaderList, maxRecipients: number, bareAddresses = false): string[] {
  const recipients = headerValues(headers, 'Recipient')
    .flatMap((v) => v.split(','))
    .map((r) => r.trim())
    .filter((r) => r !== '');
  if (recipients.length === 0)
    throw new IScheduleError('recipient-missing', 'no Recipient header (or only empty ones)');
  const invalid = recipients.find((r) => !isCalendarAddress(bareAddresses ? asMailto(r) : r));
  if (invalid)
    throw new IScheduleError(
      'recipient-invalid',
      `the Recipient "${printable(invalid)}" is not a calendar user address`,
    );
  if (recipients.length > maxRecipients) {
    throw new IScheduleError(
      'max-recipients',
      `${recipients.length} Recipients exceed max-recipients ${maxRecipients}: split the request`,
    );
  }
  return recipients;
}

const DRAFT01_C = /(?:^|;)\s*c\s*=\s*simple-http\s*(?:;|$)/;
const D_TAG = /(?:^|;)\s*d\s*=\s*([^;\s]+)\s*(?:;|$)/;

/**
 * Whether the request says it is signed the draft -01 way by one of `peers` (then its bare
 * Recipients are read as mailto). Only a claim: the signature, verified later, must bear it out.
 */
export function claimsDraft01(headers: HeaderList, peers: readonly string[]): boolean {
  if (peers.length === 0) return false;
  const signatures = headerValues(headers, 'DKIM-Signature');
  if (signatures.length !== 1 || !DRAFT01_C.test(signatures[0]!)) return false;
  const domain = D_TAG.exec(signatures[0]!)?.[1]?.toLowerCase().replace(/\.$/, '');
  return domain !== undefined && peers.some((peer) => domain === peer || domain.endsWith(`.${peer}`));
}

/** A draft -01 Recipient without a scheme (DAViCal sends `frank@example.org`) as a mailto address. */
export function asMailto(recipient: string): string {
  return recipient.includes(':') ? recipient : `mailto:${recipient}`;
}

// A parameter value may be quoted, and a quoted value may hold ";".
const PARAMETER = /;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}
