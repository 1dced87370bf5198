/**
 * Two domains, each an `ischedule serve` with the CalDAV gateway in front of its own Radicale,
 * and users who only ever speak plain CalDAV to their own server: an invitation, its answer,
 * free-busy, a cancellation, the attendee's server down for a while, and no message sent twice
 * or echoed back.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig, type ServerConfig } from '../../lib/standalone/config.js';
import {
  generateSigningKey,
  IScheduleClient,
  keyRecord,
  type RunningServer,
  startServer,
} from '../support/api.js';
import { ics, unfolded, vevent } from '../support/calendar-text.js';
import { radicaleUnavailable, startRadicale, type TestRadicale } from '../support/radicale.js';
import { freePort } from '../support/redis.js';

const skip = radicaleUnavailable();

const ALICE = 'mailto:alice@a.example';
const BOB = 'mailto:bob@b.example';

/** Polls `check` until it returns something (or throws its last error after `ms`). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Domain {
  readonly name: string;
  readonly user: string;
  readonly radicale: TestRadicale;
  server: RunningServer;
  readonly queued: string[];
  readonly config: ServerConfig;
  start(): Promise<void>;
}

describe('the CalDAV gateway between two domains, live on Radicale', { skip }, () => {
  const domains: Domain[] = [];
  let a: Domain;
  let b: Domain;

  before(async () => {
    const names = ['a.example', 'b.example'] as const;
    const users = ['alice', 'bob'] as const;
    const keys = names.map(() => generateSigningKey());
    const ports = [await freePort(), await freePort()];
    for (const [i, name] of names.entries()) {
      const other = 1 - i;
      const dataDir = mkdtempSync(path.join(tmpdir(), `gateway-${name}-`));
      writeFileSync(path.join(dataDir, 's.pem'), keys[i]!.privateKey);
      const radicale = await startRadicale([users[i]!]);
      const queued: string[] = [];
      const config = parseConfig(
        {
          listen: { host: '127.0.0.1', port: ports[i] },
          tls: false,
          domains: [name],
          dataDir,
          signing: { domain: name, selector: 's', privateKeyFile: 's.pem' },
          keys: {
            methods: ['private-exchange'],
            privateExchange: { [`s._domainkey.${names[other]}`]: keyRecord(keys[other]!.privateKey) },
          },
          allowNetworks: ['127.0.0.1'],
          outbox: {
            queryMethods: ['private-exchange'],
            overrides: { [names[other]!]: `http://127.0.0.1:${ports[other]}/.well-known/ischedule` },
            retry: { initialDelay: 300, maxDelay: 600 },
          },
          caldav: {
            url: radicale.url,
            username: 'gateway',
            password: 'gateway',
            users: { [`mailto:${users[i]}@${name}`]: `/${users[i]}/` },
            syncInterval: 150,
          },
        },
        dataDir,
      );
      const logger = {
        warn: (message: string, details?: unknown) =>
          process.env.DEBUG_GATEWAY && console.log(name, 'WARN', message, JSON.stringify(details ?? '')),
        error: (message: string, details?: unknown) =>
          process.env.DEBUG_GATEWAY && console.log(name, 'ERROR', message, details ?? ''),
        info: (message: string) => {
          if (process.env.DEBUG_GATEWAY) console.log(name, message);
          const match = /^CalDAV gateway: (\w+) from .* queued/.exec(message);
          if (match) queued.push(match[1]!);
        },
      };
      const domain: Domain = {
        name,
        user: users[i]!,
        radicale,
        queued,
        config,
        server: undefined as unknown as RunningServer,
        async start() {
          this.server = await startServer(config, logger);
        },
      };
      await domain.start();
      domains.push(domain);
    }
    [a, b] = domains as [Domain, Domain];
  });
  after(async () => {
    for (const domain of domains) {
      await domain.server?.close();
      await domain.radicale.close();
    }
  });

  const get = async (domain: Domain, name: string) => {
    const response = await domain.radicale.request(domain.user, 'GET', `/${domain.user}/calendar/${name}`);
    return response.status === 200
      ? { text: unfolded(await response.text()), etag: response.headers.get('etag')! }
      : undefined;
  };
  const put = async (domain: Domain, name: string, text: string, etag?: string) => {
    const response = await domain.radicale.request(domain.user, 'PUT', `/${domain.user}/calendar/${name}`, {
      body: text,
      headers: { 'Content-Type': 'text/calendar', ...(etag ? { 'If-Match': etag } : {}) },
    });
    assert.ok(response.status < 300, `PUT ${name} answered ${response.status}`);
  };
  const meeting = (uid: string, start: string) =>
    ics(
      vevent(
        `UID:${uid}`,
        'DTSTAMP:20261201T090000Z',
        `DTSTART:${start}`,
        'DURATION:PT1H',
        'SUMMARY:Quarterly review',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE;PARTSTAT=ACCEPTED:${ALICE}`,
        `ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${BOB}`,
      ),
    );

  it('invites, answers, shows free-busy and cancels across domains by plain CalDAV alone', async () => {
    // Alice's client saves an event with an attendee at b.example: nothing else.
    await put(a, 'review.ics', meeting('review-1@a.example', '20261214T150000Z'));

    const invited = await eventually("the invitation in bob's calendar", () =>
      get(b, 'review-1@a.example.ics'),
    );
    assert.match(invited.text, /SUMMARY:Quarterly review/);
    assert.match(invited.text, /ORGANIZER:mailto:alice@a\.example/);

    // Bob's client accepts, again by a plain PUT.
    await put(
      b,
      'review-1@a.example.ics',
      invited.text.replace(
        /ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@b\.example/,
        `ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`,
      ),
      invited.etag,
    );
    const answered = await eventually("bob's answer and delivery status on alice's copy", async () => {
      const copy = await get(a, 'review.ics');
      const bob = copy?.text.split('\r\n').find((line) => line.startsWith('ATTENDEE') && line.endsWith(BOB));
      return bob?.includes('PARTSTAT=ACCEPTED') && bob.includes('SCHEDULE-STATUS=2.0') ? bob : undefined;
    });
    assert.match(answered, /PARTSTAT=ACCEPTED/);

    // Alice's side asks b.example for bob's free-busy, signed with a.example's key.
    const client = new IScheduleClient({
      signing: a.server.signing,
      queryMethods: ['private-exchange'],
      overrides: { 'b.example': b.server.url },
      allowNetworks: ['127.0.0.1'],
    });
    try {
      const [result] = await client.send({
        originator: ALICE,
        recipients: [BOB],
        calendar: ics(
          [
            'BEGIN:VFREEBUSY',
            'UID:fb-1@a.example',
            'DTSTAMP:20261201T090000Z',
            'DTSTART:20261214T000000Z',
            'DTEND:20261215T000000Z',
            `ORGANIZER:${ALICE}`,
            `ATTENDEE:${BOB}`,
            'END:VFREEBUSY',
          ],
          'REQUEST',
        ),
      });
      assert.equal(result?.code, '2.0');
      assert.match(
        unfolded(result!.calendarData!),
        /FREEBUSY[^:\r\n]*:20261214T150000Z\/(20261214T160000Z|PT1H)/,
      );
    } finally {
      client.close();
    }

    // Alice deletes the event: bob's copy goes.
    const copy = (await get(a, 'review.ics'))!;
    const deleted = await a.radicale.request('alice', 'DELETE', '/alice/calendar/review.ics', {
      headers: { 'If-Match': copy.etag },
    });
    assert.ok(deleted.status < 300);
    await eventually('the cancellation at b.example', async () =>
      (await get(b, 'review-1@a.example.ics')) ? undefined : true,
    );

    // Two more rounds of sync on both sides: nothing was echoed or sent twice.
    await Promise.all([a.server.caldav!.syncNow(), b.server.caldav!.syncNow()]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await Promise.all([a.server.caldav!.syncNow(), b.server.caldav!.syncNow()]);
    assert.deepEqual(a.queued, ['REQUEST', 'CANCEL']);
    assert.deepEqual(b.queued, ['REPLY']);
  });

  it("delivers once the attendee's CalDAV server is back (5.1 meanwhile, retried by the outbox)", async () => {
    a.queued.length = 0;
    await b.radicale.stop();
    try {
      await put(a, 'later.ics', meeting('later-1@a.example', '20261216T150000Z'));
      // Alice's copy says the delivery is pending while b.example answers 5.1.
      await eventually('a pending SCHEDULE-STATUS', async () => {
        const copy = await get(a, 'later.ics');
        return copy?.text.match(/SCHEDULE-STATUS=1\.\d[^\r\n]*:mailto:bob@b\.example/) ? true : undefined;
      });
    } finally {
      await b.radicale.start();
    }
    assert.ok(await eventually('the invitation after the outage', () => get(b, 'later-1@a.example.ics')));
    await eventually('SCHEDULE-STATUS 2.0 after the outage', async () => {
      const copy = await get(a, 'later.ics');
      return copy?.text.match(/SCHEDULE-STATUS=2\.0[^\r\n]*:mailto:bob@b\.example/) ? true : undefined;
    });
    assert.deepEqual(a.queued, ['REQUEST'], 'one message, retried by the outbox: not queued again');
  });

  it('a process that only receives (serve --workers) delivers without touching the follower state', async () => {
    // Its own data folder here, to see what it writes (a real worker shares the primary's).
    const dataDir = mkdtempSync(path.join(tmpdir(), 'gateway-worker-'));
    const worker = await startServer(
      { ...b.config, dataDir, listen: { host: '127.0.0.1', port: 0 } },
      {},
      { outbox: false },
    );
    const client = new IScheduleClient({
      signing: a.server.signing,
      queryMethods: ['private-exchange'],
      overrides: { 'b.example': worker.url },
      allowNetworks: ['127.0.0.1'],
    });
    try {
      assert.equal(worker.caldav, undefined, 'no follower in a receiving-only process');
      const [result] = await client.send({
        originator: ALICE,
        recipients: [BOB],
        calendar: meeting('worker-1@a.example', '20261218T150000Z').replace(
          'BEGIN:VCALENDAR',
          'BEGIN:VCALENDAR\r\nMETHOD:REQUEST',
        ),
      });
      assert.equal(result?.code, '2.0', result?.description);
      assert.ok(await get(b, 'worker-1@a.example.ics'), "delivered into bob's calendar");
      assert.equal(
        existsSync(path.join(dataDir, 'caldav')),
        false,
        "the follower's state is the primary's alone",
      );
    } finally {
      client.close();
      await worker.close();
    }
    // The follower sees the new invitation as an unanswered one: nothing to send.
    b.queued.length = 0;
    await b.server.caldav!.syncNow();
    assert.deepEqual(b.queued, []);
  });
});
