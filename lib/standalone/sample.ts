/**
 * The embedded default behind `npm start`: a demo domain with two users and sample calendars,
 * and a "visitor" domain whose key the server trusts by private exchange, so that the printed
 * `ischedule send` command works against it at once. Everything lives under one data folder.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateSigningKey, keyRecord } from '../dkim/publish-key.js';
import type { ServerConfig } from './config.js';
import { userDirectory } from './filesystem-adapter.js';

export const SAMPLE_DOMAIN = 'demo.example';
export const VISITOR = {
  domain: 'visitor.example',
  selector: 'try',
  address: 'mailto:guest@visitor.example',
};

export interface SampleSetup {
  readonly config: ServerConfig;
  /** The visitor's private key file, for `ischedule send --key`. */
  readonly visitorKeyFile: string;
  /** An invitation from the visitor to alice, ready to send. */
  readonly invitationFile: string;
}

export function sampleSetup(dataDir: string, port = 8443): SampleSetup {
  const users = [`mailto:alice@${SAMPLE_DOMAIN}`, `mailto:bob@${SAMPLE_DOMAIN}`];
  const visitorKeyFile = path.join(dataDir, 'try', `${VISITOR.domain}.${VISITOR.selector}.private.pem`);
  if (!existsSync(visitorKeyFile)) {
    mkdirSync(path.dirname(visitorKeyFile), { recursive: true });
    writeFileSync(visitorKeyFile, generateSigningKey().privateKey, { mode: 0o600 });
  }
  const invitationFile = path.join(dataDir, 'try', 'invitation.ics');
  if (!existsSync(invitationFile)) writeFileSync(invitationFile, invitation(users[0]!));
  for (const user of users) {
    const calendar = path.join(userDirectory(dataDir, user), 'calendar');
    const file = path.join(calendar, 'weekly.ics');
    if (!existsSync(file)) {
      mkdirSync(calendar, { recursive: true });
      writeFileSync(file, weekly(user));
    }
  }
  const config: ServerConfig = {
    listen: { host: '127.0.0.1', port },
    tls: 'self-signed',
    domains: [SAMPLE_DOMAIN],
    users,
    dataDir,
    signing: {
      domain: SAMPLE_DOMAIN,
      selector: 'demo',
      privateKeyFile: path.join(dataDir, 'keys', `${SAMPLE_DOMAIN}.demo.private.pem`),
    },
    keys: {
      methods: ['private-exchange', 'dns/txt', 'http/well-known'],
      privateExchange: {
        [`${VISITOR.selector}._domainkey.${VISITOR.domain}`]: keyRecord(readFileSync(visitorKeyFile, 'utf8')),
      },
    },
  };
  return { config, visitorKeyFile, invitationFile };
}

function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function invitation(attendee: string): string {
  const start = new Date(Date.now() + 7 * 86_400_000);
  start.setUTCHours(15, 0, 0, 0);
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//express-ischedule//sample//EN',
    'METHOD:REQUEST',
    'BEGIN:VEVENT',
    `UID:try-${Date.now()}@${VISITOR.domain}`,
    `DTSTAMP:${stamp(new Date())}`,
    `DTSTART:${stamp(start)}`,
    `DTEND:${stamp(new Date(start.getTime() + 3_600_000))}`,
    'SUMMARY:Coffee with a visitor',
    `ORGANIZER:${VISITOR.address}`,
    `ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:${VISITOR.address}`,
    `ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:${attendee}`,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

function weekly(user: string): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//express-ischedule//sample//EN',
    'BEGIN:VEVENT',
    `UID:weekly-${user.replace(/\W/g, '')}@${SAMPLE_DOMAIN}`,
    'DTSTAMP:20260101T000000Z',
    'DTSTART:20260105T090000Z',
    'DTEND:20260105T100000Z',
    'RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR',
    'SUMMARY:Team stand-up',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}
