import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type KeyResolver, keyRecord, privateExchangeKeys, QUERY_METHODS } from './api.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');

export function fixture(relative: string): Buffer {
  return readFileSync(path.join(root, relative));
}

export const keys = {
  jupiter: {
    domain: 'example.com',
    selector: 'jupiter',
    privateKey: fixture('keys/example.com-jupiter.rsa.pem').toString(),
  },
  mars: {
    domain: 'example.com',
    selector: 'mars',
    privateKey: fixture('keys/example.com-mars.ed25519.pem').toString(),
  },
  venus: {
    domain: 'example.org',
    selector: 'venus',
    privateKey: fixture('keys/example.org-venus.rsa.pem').toString(),
  },
};

/** The key records of the test keys, keyed `<selector>._domainkey.<domain>`. */
export function testKeyRecords(): Record<string, string> {
  const records: Record<string, string> = {};
  for (const key of Object.values(keys)) {
    records[`${key.selector}._domainkey.${key.domain}`] = keyRecord(key.privateKey);
  }
  return records;
}

/** A resolver publishing the test keys by every q= method, as a fully set-up domain would. */
export function testKeyResolver(): KeyResolver {
  const exchange = privateExchangeKeys(testKeyRecords());
  return {
    methods: QUERY_METHODS,
    lookup: (query) => exchange.lookup({ ...query, method: 'private-exchange' }),
  };
}

export type Headers = Array<[string, string]>;

/** The request headers of the draft's Appendix A.1 (without the DKIM-Signature), a fresh message id each. */
export function draftHeaders(
  overrides: { recipients?: string[]; component?: string; messageId?: string } = {},
): Headers {
  const headers: Headers = [
    ['Host', 'cal.example.org'],
    ['iSchedule-Version', '1.0'],
    ['iSchedule-Message-ID', overrides.messageId ?? randomUUID()],
    ['Originator', 'mailto:bernard@example.com'],
  ];
  for (const recipient of overrides.recipients ?? ['mailto:cyrus@example.org'])
    headers.push(['Recipient', recipient]);
  headers.push(['Cache-Control', 'no-cache, no-transform']);
  headers.push([
    'Content-Type',
    `text/calendar; component=${overrides.component ?? 'VEVENT'}; method=REQUEST`,
  ]);
  return headers;
}

/**
 * An iTIP message from bernard@example.com about one event: a REQUEST to cyrus@example.org
 * unless told otherwise (the SEQUENCE tells successive versions of one UID apart).
 */
export function itipMessage(
  uid: string,
  { method = 'REQUEST', sequence = 0, attendees = ['mailto:cyrus@example.org'] } = {},
): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//test//EN',
    `METHOD:${method}`,
    'BEGIN:VEVENT',
    `UID:${uid}`,
    `SEQUENCE:${sequence}`,
    'DTSTAMP:20260101T000000Z',
    'DTSTART:20260105T100000Z',
    'DTEND:20260105T110000Z',
    'ORGANIZER:mailto:bernard@example.com',
    'ATTENDEE;PARTSTAT=ACCEPTED:mailto:bernard@example.com',
    ...attendees.map((a) => `ATTENDEE;RSVP=TRUE:${a}`),
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

/** The p= a key record publishes for this key: its SPKI DER in base64. */
export function publishedKey(key: { export(options: { type: 'spki'; format: 'der' }): Buffer }): string {
  return key.export({ type: 'spki', format: 'der' }).toString('base64');
}

/** The p= value of a key record, whitespace removed. */
export function recordKey(record: string): string {
  return /(?:^|;)\s*p\s*=([^;]*)/.exec(record)?.[1]?.replace(/\s+/g, '') ?? '';
}
