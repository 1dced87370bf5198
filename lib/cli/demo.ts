/**
 * `ischedule demo` (npm run demo): two iSchedule domains on loopback, each a standalone server
 * with its own key and certificate, found through a dns2 server answering their SRV, TXT and
 * DKIM records. An invitation goes one way, the reply comes back, then a free-busy query.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { keyRecord } from '../dkim/publish-key.js';
import { ZoneServer } from '../dns/zone-server.js';
import { IScheduleClient } from '../sender/client.js';
import type { RecipientResult } from '../sender/results.js';
import type { ServerConfig } from '../standalone/config.js';
import { userDirectory } from '../standalone/filesystem-adapter.js';
import { type RunningServer, startServer } from '../standalone/server.js';
import { table } from './common.js';
import { CommandError, type Output } from './output.js';

export const demoHelp = `Usage: ischedule demo [--dir DIR]

Runs two iSchedule domains (alpha.example, beta.example) on loopback with a DNS server for their
records, sends an invitation from alice@alpha.example to bob@beta.example, bob's reply back, and
a free-busy query, printing each step's statuses and where the delivered files landed.

  --dir   where the two servers keep their data (default ./.data/demo, emptied first)`;

const ALICE = 'mailto:alice@alpha.example';
const LOOPBACK = ['127.0.0.0/8', '::1'];
const BOB = 'mailto:bob@beta.example';

export async function demo(argv: string[], out: Output): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { dir: { type: 'string' } } });
  const root = path.resolve(values.dir ?? '.data/demo');
  rmSync(root, { recursive: true, force: true });

  const zone = new ZoneServer();
  const { server: dnsServer } = await zone.listen();
  out.line(`DNS server for alpha.example and beta.example: ${dnsServer}`);
  const servers: Record<string, RunningServer> = {};
  const clients: IScheduleClient[] = [];
  try {
    for (const [domain, user] of [
      ['alpha.example', ALICE],
      ['beta.example', BOB],
    ] as const) {
      const config: ServerConfig = {
        listen: { host: '127.0.0.1', port: 0 },
        tls: 'self-signed',
        domains: [domain],
        users: [user],
        dataDir: path.join(root, domain),
        signing: {
          domain,
          selector: 'demo',
          privateKeyFile: path.join(root, domain, 'keys', 'demo.private.pem'),
        },
        keys: { methods: ['dns/txt'], privateExchange: {}, dns: { servers: [dnsServer] } },
        allowNetworks: LOOPBACK,
      };
      const server = await startServer(config);
      servers[domain] = server;
      zone.addRecords(
        {
          type: 'SRV',
          name: `_ischedules._tcp.${domain}`,
          priority: 0,
          weight: 1,
          port: server.port,
          target: `cal.${domain}.`,
        },
        { type: 'TXT', name: `_ischedules._tcp.${domain}`, text: 'path=/.well-known/ischedule' },
        { type: 'A', name: `cal.${domain}`, address: '127.0.0.1' },
        { type: 'TXT', name: `demo._domainkey.${domain}`, text: keyRecord(server.signing.privateKey) },
      );
      out.line(`${domain}: ${server.url} (data in ${config.dataDir})`);
    }
    // Bob has a meeting in the range alice will ask about.
    const bobCalendar = path.join(userDirectory(path.join(root, 'beta.example'), BOB), 'calendar');
    mkdirSync(bobCalendar, { recursive: true });
    writeFileSync(
      path.join(bobCalendar, 'lunch.ics'),
      event('REQUEST', 'lunch@beta.example', BOB, [BOB], '20300107T120000Z', '20300107T130000Z').replace(
        'METHOD:REQUEST\r\n',
        '',
      ),
    );

    const ca = Object.values(servers).map((s) => s.certificate ?? '');
    const clientFor = (domain: string) => {
      const client = new IScheduleClient({
        signing: servers[domain]!.signing,
        dns: { servers: [dnsServer] },
        tls: { ca },
        // The demo's DNS points at loopback: allowed here by name, as a private setup would.
        allowNetworks: LOOPBACK,
      });
      clients.push(client);
      return client;
    };
    const alpha = clientFor('alpha.example');
    const beta = clientFor('beta.example');
    let failures = 0;
    const show = (title: string, results: RecipientResult[]) => {
      failures += results.filter((r) => r.outcome !== 'delivered').length;
      out.line(`\n${title}`);
      out.line(
        table(results.map((r) => [`  ${r.recipient}`, r.requestStatus, r.outcome, r.description ?? ''])),
      );
    };

    const invitation = event(
      'REQUEST',
      'demo-meeting@alpha.example',
      ALICE,
      [ALICE, BOB],
      '20300107T150000Z',
      '20300107T160000Z',
    );
    show(
      '1. alice@alpha.example invites bob@beta.example (REQUEST):',
      await alpha.send({ originator: ALICE, recipients: [BOB], calendar: invitation }),
    );
    listInbox(out, root, 'beta.example', BOB);

    const reply = event(
      'REPLY',
      'demo-meeting@alpha.example',
      ALICE,
      [BOB],
      '20300107T150000Z',
      '20300107T160000Z',
    ).replace(`ATTENDEE;RSVP=TRUE:${BOB}`, `ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`);
    show(
      '2. bob@beta.example accepts (REPLY):',
      await beta.send({ originator: BOB, recipients: [ALICE], calendar: reply }),
    );
    listInbox(out, root, 'alpha.example', ALICE);

    const freebusy = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//express-ischedule//demo//EN',
      'METHOD:REQUEST',
      'BEGIN:VFREEBUSY',
      'UID:demo-freebusy@alpha.example',
      'DTSTAMP:20300101T000000Z',
      'DTSTART:20300107T000000Z',
      'DTEND:20300108T000000Z',
      `ORGANIZER:${ALICE}`,
      `ATTENDEE:${BOB}`,
      'END:VFREEBUSY',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
    const busy = await alpha.send({ originator: ALICE, recipients: [BOB], calendar: freebusy });
    show('3. alice@alpha.example asks when bob@beta.example is busy on 2030-01-07 (VFREEBUSY):', busy);
    failures -= busy.filter((r) => r.outcome !== 'delivered').length;
    for (const line of (busy[0]?.calendarData ?? '').replace(/\r\n[ \t]/g, '').split('\r\n')) {
      if (line.startsWith('FREEBUSY')) out.line(`  ${line}`);
    }
    failures += busy.filter((r) => r.outcome !== 'delivered').length;
    if (failures > 0) throw new CommandError(`the demo had ${failures} failed delivery(ies); see above`);
    out.line('\nDemo complete.');
  } finally {
    for (const client of clients) client.close();
    await Promise.all(Object.values(servers).map((s) => s.close()));
    await zone.close();
  }
}

function listInbox(out: Output, root: string, domain: string, user: string): void {
  const inbox = path.join(userDirectory(path.join(root, domain), user), 'inbox');
  let files: string[] = [];
  try {
    files = readdirSync(inbox).filter((f) => f.endsWith('.ics'));
  } catch {
    // no inbox yet
  }
  out.line(`  inbox ${inbox}: ${files.length ? files.join(', ') : '(empty)'}`);
}

function event(
  method: string,
  uid: string,
  organizer: string,
  attendees: string[],
  start: string,
  end: string,
): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//express-ischedule//demo//EN',
    `METHOD:${method}`,
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20300101T000000Z',
    `DTSTART:${start}`,
    `DTEND:${end}`,
    'SUMMARY:Demo meeting',
    `ORGANIZER:${organizer}`,
    ...attendees.map((a) =>
      a === organizer ? `ATTENDEE;PARTSTAT=ACCEPTED:${a}` : `ATTENDEE;RSVP=TRUE:${a}`,
    ),
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}
