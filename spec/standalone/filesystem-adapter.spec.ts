import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  type FilesystemUser,
  filesystemAdapter,
  parseScheduleMessage,
  readBusyPeriods,
  type ScheduleMessage,
  userDirectory,
  writeInbox,
} from '../support/api.js';
import { fixture } from '../support/fixtures.js';

const bounds = { maxFiles: 100, maxBytes: 1 << 20, maxInstances: 1000 };

describe('filesystem adapters', () => {
  it('writes each delivery to its own file atomically, even many at once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'inbox-'));
    const text = fixture('draft/a1-request.ics').toString();
    const written = await Promise.all(
      Array.from({ length: 50 }, () => writeInbox(dir, '34222-232@example.com', text)),
    );
    assert.equal(new Set(written).size, 50);
    const files = readdirSync(path.join(dir, 'inbox'));
    assert.equal(files.length, 50);
    assert.ok(files.every((f) => f.endsWith('.ics')));
    assert.equal(readFileSync(written[0]!, 'utf8'), text);
  });

  it('keeps addresses from escaping the data folder', () => {
    assert.equal(userDirectory('/data', 'MAILTO:Alice@Example.COM'), path.join('/data', 'alice@example.com'));
    for (const bad of ['mailto:../x@example.com', 'mailto:a/b@example.com', 'mailto:.hidden@example.com']) {
      assert.throws(
        () => userDirectory('/data', bad),
        { name: 'OptionsError', code: 'invalid-options' },
        bad,
      );
    }
  });

  it('computes free-busy with recurrences expanded and bounded to the range, skipping free and cancelled events', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'calendar-'));
    const event = (uid: string, extra: string[]) =>
      [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:x',
        'BEGIN:VEVENT',
        `UID:${uid}`,
        'DTSTAMP:20260101T000000Z',
        ...extra,
        'END:VEVENT',
        'END:VCALENDAR',
        '',
      ].join('\r\n');
    const events: Array<[string, string, string, string, string]> = [
      ['daily', 'd', '20260101T090000Z', '20260101T100000Z', 'RRULE:FREQ=DAILY'],
      ['tentative', 't', '20260103T150000Z', '20260103T160000Z', 'STATUS:TENTATIVE'],
      ['free', 'f', '20260103T120000Z', '20260103T130000Z', 'TRANSP:TRANSPARENT'],
      ['cancelled', 'c', '20260103T170000Z', '20260103T180000Z', 'STATUS:CANCELLED'],
    ];
    for (const [file, uid, start, end, extra] of events)
      writeFileSync(path.join(dir, `${file}.ics`), event(uid, [`DTSTART:${start}`, `DTEND:${end}`, extra]));
    writeFileSync(path.join(dir, 'broken.ics'), 'not a calendar');
    writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    const busy = await readBusyPeriods(
      dir,
      new Date('2026-01-02T00:00:00Z'),
      new Date('2026-01-04T00:00:00Z'),
      bounds,
    );
    const shown = busy.map((b) => `${new Date(b.start).toISOString()} ${b.type}`).sort();
    assert.deepEqual(shown, [
      '2026-01-02T09:00:00.000Z BUSY',
      '2026-01-03T09:00:00.000Z BUSY',
      '2026-01-03T15:00:00.000Z BUSY-TENTATIVE',
    ]);
    // An endless rule far in the past is bounded by maxInstances, not by patience.
    const capped = await readBusyPeriods(
      dir,
      new Date('2090-01-01T00:00:00Z'),
      new Date('2090-01-02T00:00:00Z'),
      { ...bounds, maxInstances: 10 },
    );
    assert.deepEqual(capped, []);
    assert.deepEqual(await readBusyPeriods(path.join(dir, 'missing'), new Date(), new Date(), bounds), []);

    // A rule ical.js would iterate forever is skipped; the other events still count.
    writeFileSync(
      path.join(dir, 'endless.ics'),
      event('e', ['DTSTART:20260101T090000Z', 'DTEND:20260101T100000Z', 'RRULE:FREQ=DAILY;BYMONTHDAY=-1']),
    );
    const withEndless = await readBusyPeriods(
      dir,
      new Date('2026-01-02T00:00:00Z'),
      new Date('2026-01-04T00:00:00Z'),
      bounds,
    );
    assert.equal(withEndless.length, 3);
    // More busy periods than it may answer in all: a failure, never a partial (wrongly free) answer.
    for (let i = 0; i < 6; i++) {
      writeFileSync(
        path.join(dir, `daily-${i}.ics`),
        event(`d${i}`, ['DTSTART:20260101T090000Z', 'DTEND:20260101T100000Z', 'RRULE:FREQ=DAILY']),
      );
    }
    await assert.rejects(
      readBusyPeriods(dir, new Date('2026-01-01T00:00:00Z'), new Date('2026-03-01T00:00:00Z'), {
        ...bounds,
        maxInstances: 5,
      }),
      /needs more than 25 periods/,
    );
  });

  it('keeps an inbox within its byte quota, and refuses a quota that is no positive integer', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'quota-'));
    const warnings: unknown[] = [];
    const adapter = filesystemAdapter({
      dataDir,
      users: ['mailto:cyrus@example.org'],
      inboxQuota: { bytes: 800 },
      logger: { warn: (_message, details) => warnings.push(details) },
    });
    const signal = new AbortController().signal;
    const request = {} as never;
    const user = await adapter.lookupUser({ address: 'mailto:cyrus@example.org', request, signal });
    assert.ok(user);
    const message = parseScheduleMessage(fixture('draft/a1-request.ics').toString());
    assert.ok(Buffer.byteLength(message.text) > 400 && Buffer.byteLength(message.text) <= 800);
    const deliver = () => deliverFromBernard(adapter, user, message);
    assert.equal(await deliver(), undefined);
    assert.deepEqual(await deliver(), {
      requestStatus: '5.1;Service unavailable',
      description: "the recipient's scheduling inbox is full; try again later",
    });
    assert.equal(readdirSync(path.join(dataDir, 'cyrus@example.org', 'inbox')).length, 1);
    assert.equal(warnings.length, 1);
    assert.throws(
      () => filesystemAdapter({ dataDir, users: [], inboxQuota: { messages: 0 } }),
      /inboxQuota\.messages must be a positive integer/,
    );
  });

  it('serves a router: unknown users are null, deliveries land in the inbox', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'adapter-'));
    const adapter = filesystemAdapter({ dataDir, users: ['mailto:cyrus@example.org'] });
    const signal = new AbortController().signal;
    const request = {} as never;
    assert.equal(await adapter.lookupUser({ address: 'mailto:nobody@example.org', request, signal }), null);
    const user = await adapter.lookupUser({ address: 'mailto:CYRUS@example.org', request, signal });
    assert.ok(user);
    const message = parseScheduleMessage(fixture('draft/a1-request.ics').toString());
    await deliverFromBernard(adapter, user, message);
    assert.equal(readdirSync(path.join(dataDir, 'cyrus@example.org', 'inbox')).length, 1);
    mkdirSync(path.join(dataDir, 'cyrus@example.org', 'calendar'));
    const busy = await adapter.getFreeBusy({
      recipient: 'mailto:cyrus@example.org',
      user,
      originator: 'mailto:bernard@example.com',
      start: new Date('2004-09-02T00:00:00Z'),
      end: new Date('2004-09-03T00:00:00Z'),
      message,
      request,
      signal,
    });
    assert.deepEqual(busy, []);
  });
});

/** Cyrus's delivery of a message from bernard@example.com, as the receiver would call it. */
function deliverFromBernard(
  adapter: ReturnType<typeof filesystemAdapter>,
  user: FilesystemUser,
  message: ScheduleMessage,
) {
  return adapter.deliverToInbox({
    recipient: 'mailto:cyrus@example.org',
    user,
    originator: 'mailto:bernard@example.com',
    message,
    request: {} as never,
    signal: new AbortController().signal,
  });
}
