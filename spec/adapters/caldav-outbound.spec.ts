/**
 * What the gateway sends for a user's change (RFC 5546 as an organizer's or attendee's agent
 * would), and the follower on a live Radicale: a refused sync token, a calendar seen the first
 * time, and its own writes never taken for a user's change.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCalendar } from '../../lib/adapters/caldav/calendar-object.js';
import { localTo, outgoingFor } from '../../lib/adapters/caldav/outbound.js';
import {
  type CaldavGateway,
  caldavGateway,
  type Outbox,
  type OutboxMessage,
  parseScheduleMessage,
} from '../support/api.js';
import { ics, unfolded, vevent } from '../support/calendar-text.js';
import { racingProxy } from '../support/racing-proxy.js';
import { radicaleUnavailable, startRadicale, type TestRadicale } from '../support/radicale.js';

const ALICE = 'mailto:alice@a.example';
const ANN = 'mailto:ann@a.example';
const BOB = 'mailto:bob@b.example';
const CAROL = 'mailto:carol@c.example';
const isLocal = localTo(['a.example']);
const NOW = new Date('2026-12-02T12:00:00Z');

const eventText = (...extra: string[]) =>
  ics(
    vevent(
      'UID:e-1',
      'DTSTAMP:20261201T000000Z',
      'DTSTART:20261210T100000Z',
      'DTEND:20261210T110000Z',
      'SUMMARY:Sync',
      `ORGANIZER:${ALICE}`,
      `ATTENDEE;PARTSTAT=ACCEPTED:${ALICE}`,
      `ATTENDEE;PARTSTAT=NEEDS-ACTION:${ANN}`,
      ...extra,
    ),
  );
const event = (...extra: string[]) => parseCalendar(eventText(...extra));
const sent = (
  owner: string,
  before: ReturnType<typeof event> | undefined,
  after: ReturnType<typeof event> | undefined,
) =>
  outgoingFor(owner, before, after, isLocal, NOW).map((m) => ({
    method: m.method,
    recipients: m.recipients,
    text: unfolded(m.calendar),
  }));

describe('what a change sends', () => {
  it('a new event with remote attendees: one REQUEST to them, a valid iTIP message', () => {
    const [request, ...rest] = sent(
      ALICE,
      undefined,
      event(
        `ATTENDEE;SCHEDULE-STATUS=1.0:${BOB}`,
        'BEGIN:VALARM',
        'ACTION:DISPLAY',
        'DESCRIPTION:x',
        'TRIGGER:-PT5M',
        'END:VALARM',
      ),
    );
    assert.equal(rest.length, 0);
    assert.equal(request?.method, 'REQUEST');
    assert.deepEqual(request?.recipients, [BOB], 'local attendees are not sent iSchedule');
    const message = parseScheduleMessage(request!.text);
    assert.equal(message.method, 'REQUEST');
    assert.doesNotMatch(request!.text, /VALARM|SCHEDULE-STATUS/, 'no alarms, no bookkeeping go out');
    assert.match(request!.text, /DTSTAMP:20261202T120000Z/, 'stamped when sent');
  });

  it('nothing for a change of answers, SCHEDULE-STATUS, alarms or DTSTAMP alone (no echo)', () => {
    const before = event(`ATTENDEE;PARTSTAT=NEEDS-ACTION:${BOB}`);
    // A client's save: new DTSTAMP and LAST-MODIFIED, an answer, a status, its own X- property.
    const after = parseCalendar(
      eventText(`ATTENDEE;PARTSTAT=ACCEPTED;SCHEDULE-STATUS=2.0:${BOB}`, 'X-MOZ-GENERATION:3').replace(
        'DTSTAMP:20261201T000000Z',
        'DTSTAMP:20261202T000000Z\r\nLAST-MODIFIED:20261202T000000Z',
      ),
    );
    assert.deepEqual(sent(ALICE, before, after), []);
  });

  it('a significant change, an added attendee included, goes to every remote attendee', () => {
    const before = event(`ATTENDEE:${BOB}`);
    const moved = parseCalendar(
      ics(
        vevent(
          'UID:e-1',
          'DTSTAMP:20261201T000000Z',
          'DTSTART:20261210T120000Z',
          'DTEND:20261210T130000Z',
          'SUMMARY:Sync',
          `ORGANIZER:${ALICE}`,
          `ATTENDEE:${BOB}`,
          `ATTENDEE:${CAROL}`,
        ),
      ),
    );
    assert.deepEqual(
      sent(ALICE, before, moved).map((m) => [m.method, m.recipients]),
      [['REQUEST', [BOB, CAROL]]],
    );
    const added = event(`ATTENDEE:${BOB}`, `ATTENDEE:${CAROL}`);
    assert.deepEqual(
      sent(ALICE, before, added).map((m) => [m.method, m.recipients]),
      [['REQUEST', [BOB, CAROL]]],
    );
  });

  it('a removed attendee gets a CANCEL naming only them; a deleted or cancelled event a CANCEL to all', () => {
    const before = event(`ATTENDEE:${BOB}`, `ATTENDEE:${CAROL}`);
    const [cancel] = sent(ALICE, before, event(`ATTENDEE:${BOB}`));
    assert.equal(cancel?.method, 'CANCEL');
    assert.deepEqual(cancel?.recipients, [CAROL]);
    assert.doesNotMatch(cancel!.text, /bob@/);
    assert.equal(parseScheduleMessage(cancel!.text).method, 'CANCEL');

    assert.deepEqual(
      sent(ALICE, before, undefined).map((m) => [m.method, m.recipients]),
      [['CANCEL', [BOB, CAROL]]],
    );
    assert.deepEqual(
      sent(ALICE, before, event(`ATTENDEE:${BOB}`, `ATTENDEE:${CAROL}`, 'STATUS:CANCELLED')).map(
        (m) => m.method,
      ),
      ['CANCEL'],
    );
  });

  it('attendees their own client schedules (SCHEDULE-AGENT=CLIENT) are left to it', () => {
    assert.deepEqual(sent(ALICE, undefined, event(`ATTENDEE;SCHEDULE-AGENT=CLIENT:${BOB}`)), []);
  });

  it('a local attendee answering or deleting a remote invitation sends a REPLY to the organizer', () => {
    const invitation = (partstat: string) =>
      parseCalendar(
        ics(
          vevent(
            'UID:r-1',
            'DTSTAMP:20261201T000000Z',
            'DTSTART:20261210T100000Z',
            'DTEND:20261210T110000Z',
            `ORGANIZER:${BOB}`,
            `ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`,
            `ATTENDEE;PARTSTAT=${partstat}:${ALICE}`,
            `ATTENDEE;PARTSTAT=NEEDS-ACTION:${CAROL}`,
          ),
        ),
      );
    assert.deepEqual(sent(ALICE, undefined, invitation('NEEDS-ACTION')), [], 'a new invitation: nothing yet');
    const [reply] = sent(ALICE, invitation('NEEDS-ACTION'), invitation('TENTATIVE'));
    assert.equal(reply?.method, 'REPLY');
    assert.deepEqual(reply?.recipients, [BOB]);
    const message = parseScheduleMessage(reply!.text);
    assert.deepEqual(message.attendees, [ALICE], 'a REPLY carries only the one answering');
    assert.match(reply!.text, /PARTSTAT=TENTATIVE/);
    const [declined] = sent(ALICE, invitation('ACCEPTED'), undefined);
    assert.match(declined!.text, /PARTSTAT=DECLINED/);
    assert.deepEqual(sent(ALICE, invitation('DECLINED'), undefined), [], 'declined already');
    assert.deepEqual(
      sent(ANN, invitation('NEEDS-ACTION'), invitation('ACCEPTED')),
      [],
      'not the owner: not theirs to answer',
    );
  });
});

describe('what a change sends: the edges', () => {
  const remoteInvitation = (...lines: string[]) =>
    parseCalendar(
      ics(
        vevent(
          'UID:r-2',
          'DTSTAMP:20261201T000000Z',
          'DTSTART:20261210T100000Z',
          'DESCRIPTION:agenda',
          'LOCATION:room 1',
          `ORGANIZER:${BOB}`,
          `ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`,
          ...lines,
        ),
      ),
    );

  it('nothing for an event without an ORGANIZER, one organized by another local user, or one the owner is not invited to', () => {
    const plain = parseCalendar(
      ics(vevent('UID:p-1', 'DTSTAMP:20261201T000000Z', 'DTSTART:20261210T100000Z')),
    );
    assert.deepEqual(sent(ALICE, undefined, plain), []);
    assert.deepEqual(sent(ALICE, plain, undefined), []);
    const annOrganizes = parseCalendar(
      eventText(`ATTENDEE:${BOB}`).replace(`ORGANIZER:${ALICE}`, `ORGANIZER:${ANN}`),
    );
    assert.deepEqual(sent(ALICE, undefined, annOrganizes), [], "ann's event: ann's agent sends");
    const notMine = remoteInvitation(`ATTENDEE;PARTSTAT=ACCEPTED:${CAROL}`);
    assert.deepEqual(sent(ALICE, remoteInvitation(`ATTENDEE;PARTSTAT=NEEDS-ACTION:${CAROL}`), notMine), []);
  });

  it('attendees at a sub-domain of a local domain are local; SCHEDULE-AGENT=SERVER is the default made explicit', () => {
    const [request] = sent(
      ALICE,
      undefined,
      event('ATTENDEE:mailto:dan@eu.a.example', `ATTENDEE;SCHEDULE-AGENT=server:${BOB}`),
    );
    assert.deepEqual(request?.recipients, [BOB]);
    assert.doesNotMatch(request!.text, /SCHEDULE-AGENT/i, 'scheduling parameters stay home');
  });

  it('an event already cancelled and then deleted is not cancelled twice', () => {
    const cancelled = event(`ATTENDEE:${BOB}`, 'STATUS:CANCELLED');
    assert.deepEqual(sent(ALICE, cancelled, undefined), []);
    const [request] = sent(ALICE, cancelled, event(`ATTENDEE:${BOB}`));
    assert.equal(request?.method, 'REQUEST', 'restored: invited again');
  });

  it('a REPLY says only what answering needs: no rule, description or location, no RSVP', () => {
    const [reply] = sent(
      ALICE,
      remoteInvitation('RRULE:FREQ=DAILY;COUNT=2', `ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${ALICE}`),
      remoteInvitation(
        'RRULE:FREQ=DAILY;COUNT=2',
        `ATTENDEE;PARTSTAT=ACCEPTED;RSVP=TRUE;SCHEDULE-STATUS=2.0:${ALICE}`,
      ),
    );
    assert.equal(reply?.method, 'REPLY');
    assert.doesNotMatch(reply!.text, /RRULE|DESCRIPTION|LOCATION|RSVP|SCHEDULE-STATUS/);
    assert.match(reply!.text, /ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@a\.example/);
  });

  it('no REPLY when the answer goes back to NEEDS-ACTION (the organizer moved the event): that is a question, not an answer', () => {
    const answered = remoteInvitation(`ATTENDEE;PARTSTAT=ACCEPTED:${ALICE}`);
    const askedAgain = remoteInvitation(`ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:${ALICE}`);
    assert.deepEqual(sent(ALICE, answered, askedAgain), []);
  });

  it('deleting an invitation declined for some instances only still declines the rest', () => {
    const partly = parseCalendar(
      ics([
        ...vevent(
          'UID:r-3',
          'DTSTAMP:20261201T000000Z',
          'DTSTART:20261210T100000Z',
          'RRULE:FREQ=DAILY;COUNT=3',
          `ORGANIZER:${BOB}`,
          `ATTENDEE;PARTSTAT=ACCEPTED:${ALICE}`,
        ),
        ...vevent(
          'UID:r-3',
          'DTSTAMP:20261201T000000Z',
          'RECURRENCE-ID:20261211T100000Z',
          'DTSTART:20261211T100000Z',
          `ORGANIZER:${BOB}`,
          `ATTENDEE;PARTSTAT=DECLINED:${ALICE}`,
        ),
      ]),
    );
    const [reply] = sent(ALICE, partly, undefined);
    assert.equal(reply?.method, 'REPLY');
    assert.doesNotMatch(reply!.text, /PARTSTAT=ACCEPTED/);
  });
});

describe('what counts as a change attendees must hear of', () => {
  const methods = (before: string, after: string) =>
    sent(ALICE, parseCalendar(before), parseCalendar(after)).map((m) => m.method);
  const base = eventText(`ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:${BOB}`);

  it('a new title or role is; the same properties in another order, bookkeeping, RSVP or X- parameters are not', () => {
    assert.deepEqual(methods(base, base.replace('SUMMARY:Sync', 'SUMMARY:Sync v2')), ['REQUEST']);
    assert.deepEqual(methods(base, base.replace('ROLE=REQ-PARTICIPANT', 'ROLE=OPT-PARTICIPANT')), [
      'REQUEST',
    ]);
    const reordered = base.replace(
      'DTSTART:20261210T100000Z\r\nDTEND:20261210T110000Z',
      'DTEND:20261210T110000Z\r\nDTSTART:20261210T100000Z',
    );
    assert.notEqual(reordered, base);
    assert.deepEqual(methods(base, reordered), []);
    const bookkeeping = base
      .replace('SUMMARY:Sync', 'SUMMARY:Sync\r\nSEQUENCE:4\r\nCREATED:20261101T000000Z')
      .replace('RSVP=TRUE', 'RSVP=FALSE;X-CLIENT-SEEN=1');
    assert.deepEqual(methods(base, bookkeeping), []);
  });

  it('tasks are scheduled as events are', () => {
    const task = ics([
      'BEGIN:VTODO',
      'UID:t-1',
      'DTSTAMP:20261201T000000Z',
      'DUE:20261210T100000Z',
      `ORGANIZER:${ALICE}`,
      `ATTENDEE:${BOB}`,
      'END:VTODO',
    ]);
    assert.deepEqual(
      sent(ALICE, undefined, parseCalendar(task)).map((m) => [m.method, m.recipients]),
      [['REQUEST', [BOB]]],
    );
  });

  it('a deleted series is cancelled as a whole, whatever order its components were stored in; each attendee told once', () => {
    const overrideFirst = ics([
      ...vevent(
        'UID:e-1',
        'DTSTAMP:20261201T000000Z',
        'RECURRENCE-ID:20261211T100000Z',
        'DTSTART:20261211T120000Z',
        `ORGANIZER:${ALICE}`,
        'ATTENDEE:mailto:BOB@b.example',
      ),
      ...vevent(
        'UID:e-1',
        'DTSTAMP:20261201T000000Z',
        'DTSTART:20261210T100000Z',
        'RRULE:FREQ=DAILY;COUNT=3',
        `ORGANIZER:${ALICE}`,
        `ATTENDEE:${BOB}`,
      ),
    ]);
    const [cancel, ...rest] = sent(ALICE, parseCalendar(overrideFirst), undefined);
    assert.equal(rest.length, 0);
    assert.equal(cancel?.method, 'CANCEL');
    assert.equal(cancel?.recipients.length, 1, 'the same address in two cases is one attendee');
    assert.doesNotMatch(cancel!.text, /RECURRENCE-ID|RRULE/, 'the whole series, not one instance');
  });
});

/** An outbox that records what it is given (the outbox itself has its own specs). */
function recordingOutbox(): Outbox & { messages: OutboxMessage[] } {
  const messages: OutboxMessage[] = [];
  return {
    messages,
    enqueue: async (message) => {
      messages.push(message);
      return `job-${messages.length}`;
    },
    list: async () => [],
    retry: async () => false,
    cancel: async () => false,
    close: async () => {},
  };
}

describe('the follower on a live Radicale', { skip: radicaleUnavailable() }, () => {
  let radicale: TestRadicale;
  before(async () => {
    radicale = await startRadicale(['alice']);
  });
  after(() => radicale?.close());

  const put = (name: string, text: string) =>
    radicale.request('alice', 'PUT', `/alice/calendar/${name}`, {
      body: text,
      headers: { 'Content-Type': 'text/calendar' },
    });
  const gatewayIn = (stateDir: string, url = radicale.url): CaldavGateway =>
    caldavGateway({
      url,
      username: 'gateway',
      password: 'gateway',
      users: { [ALICE]: '/alice/' },
      domains: ['a.example'],
      stateDir,
      syncInterval: 60_000,
    });
  const invite = (uid: string, summary = 'Sync') =>
    ics(
      vevent(
        `UID:${uid}`,
        'DTSTAMP:20261201T000000Z',
        'DTSTART:20261210T100000Z',
        'DTEND:20261210T110000Z',
        `SUMMARY:${summary}`,
        `ORGANIZER:${ALICE}`,
        `ATTENDEE:${BOB}`,
      ),
    );

  it('takes a calendar seen the first time as it is, then sends each change once; a refused token means a full read', async () => {
    await put('old.ics', invite('old-1'));
    const stateDir = mkdtempSync(path.join(tmpdir(), 'gateway-state-'));
    const outbox = recordingOutbox();
    let gateway = gatewayIn(stateDir);
    // A delivery that lands before the first sync does not make the calendar look known.
    const signal = new AbortController().signal;
    const alice = await gateway.adapter.lookupUser({ address: ALICE, request: {} as never, signal });
    const invitation = ics(
      vevent(
        'UID:in-1',
        'DTSTAMP:20261201T000000Z',
        'DTSTART:20261211T100000Z',
        `ORGANIZER:${BOB}`,
        `ATTENDEE:${ALICE}`,
      ),
      'REQUEST',
    );
    const delivered = await gateway.adapter.deliverToInbox({
      recipient: ALICE,
      user: alice!,
      originator: BOB,
      message: parseScheduleMessage(invitation),
      request: {} as never,
      signal,
    });
    assert.equal(delivered, undefined);
    gateway.start(outbox);
    await gateway.syncNow();
    assert.equal(outbox.messages.length, 0, 'existing events are not sent on the first sight of a calendar');

    await put('new.ics', invite('new-1'));
    await gateway.syncNow();
    await gateway.syncNow();
    assert.deepEqual(
      outbox.messages.map((m) => parseScheduleMessage(m.calendar).uid),
      ['new-1'],
    );

    // A restart with the state on disk: nothing again.
    await gateway.close();
    gateway = gatewayIn(stateDir);
    gateway.start(outbox);
    await gateway.syncNow();
    assert.equal(outbox.messages.length, 1);

    // The server forgets the token (here: one it never gave): the calendar is read whole, the
    // deletion made meanwhile found by comparison, the unchanged events left alone.
    await gateway.close();
    const file = path.join(stateDir, 'caldav-gateway.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as { tokens: Record<string, string> };
    state.tokens['/alice/calendar/'] = 'http://radicale.org/ns/sync/forgotten';
    writeFileSync(file, JSON.stringify(state));
    const deleted = await radicale.request('alice', 'DELETE', '/alice/calendar/old.ics');
    assert.ok(deleted.status < 300);
    // Radicale would still list the deletion: here it has forgotten it, as servers do in time.
    radicale.forgetHistory('/alice/calendar/');
    gateway = gatewayIn(stateDir);
    gateway.start(outbox);
    await gateway.syncNow();
    await gateway.close();
    assert.deepEqual(
      outbox.messages
        .slice(1)
        .map((m) => parseScheduleMessage(m.calendar))
        .map((m) => [m.method, m.uid]),
      [['CANCEL', 'old-1']],
    );
  });

  it("writes SCHEDULE-STATUS back conditionally and does not take its own write for the user's", async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'gateway-state-'));
    const outbox = recordingOutbox();
    const gateway = gatewayIn(stateDir);
    gateway.start(outbox);
    await gateway.syncNow();
    await put('status.ics', invite('status-1'));
    await gateway.syncNow();
    const jobId = `job-${outbox.messages.length}`;
    await gateway.statusChanged({
      jobId,
      uid: 'status-1',
      originator: ALICE,
      recipient: BOB,
      state: 'delivered',
      requestStatus: '2.0;Success',
    });
    const stored = unfolded(
      await (await radicale.request('alice', 'GET', '/alice/calendar/status.ics')).text(),
    );
    assert.match(stored, /ATTENDEE;SCHEDULE-STATUS=2\.0:mailto:bob@b\.example/);
    const count = outbox.messages.length;
    await gateway.syncNow();
    await gateway.close();
    assert.equal(outbox.messages.length, count, 'the status write is not a change to send');
  });

  it("marks a REPLY's delivery on the ORGANIZER of the attendee's copy; unknown jobs and failing syncs are not hidden", async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'gateway-state-'));
    const outbox = recordingOutbox();
    const gateway = gatewayIn(stateDir);
    const invitation = (partstat: string) =>
      ics(
        vevent(
          'UID:answer-1',
          'DTSTAMP:20261201T000000Z',
          'DTSTART:20261212T100000Z',
          `ORGANIZER:${BOB}`,
          `ATTENDEE;PARTSTAT=ACCEPTED:${BOB}`,
          `ATTENDEE;PARTSTAT=${partstat}:${ALICE}`,
        ),
      );
    try {
      await put('answer.ics', invitation('NEEDS-ACTION'));
      gateway.start(outbox);
      await gateway.syncNow();
      await put('answer.ics', invitation('ACCEPTED'));
      await gateway.syncNow();
      assert.equal(parseScheduleMessage(outbox.messages.at(-1)!.calendar).method, 'REPLY');
      const update = {
        jobId: `job-${outbox.messages.length}`,
        uid: 'answer-1',
        originator: ALICE,
        recipient: BOB,
      };
      await gateway.statusChanged({ ...update, state: 'pending', requestStatus: '1.0;Pending' });
      await gateway.statusChanged({ ...update, state: 'delivered', requestStatus: '2.0;Success' });
      // A job it never queued (another gateway's, or forgotten) changes nothing.
      await gateway.statusChanged({
        ...update,
        jobId: 'job-unknown',
        state: 'failed',
        requestStatus: '5.3;No scheduling support for user',
      });
      const stored = unfolded(
        await (await radicale.request('alice', 'GET', '/alice/calendar/answer.ics')).text(),
      );
      assert.match(stored, /ORGANIZER;SCHEDULE-STATUS=2\.0:mailto:bob@b\.example/);
      assert.doesNotMatch(stored, /ATTENDEE[^\r\n]*SCHEDULE-STATUS/);

      await radicale.stop();
      try {
        await assert.rejects(
          gateway.syncNow(),
          { name: 'HttpError' },
          'a server that is down is not an empty calendar',
        );
      } finally {
        await radicale.start();
      }
    } finally {
      await gateway.close();
    }
  });

  it("writes SCHEDULE-STATUS onto the user's newer version when they edit at the same moment", async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'gateway-state-'));
    const proxy = await racingProxy(radicale.url, async () => {
      const current = await (await radicale.request('alice', 'GET', '/alice/calendar/edited.ics')).text();
      const edited = await put(
        'edited.ics',
        current.replace('SUMMARY:Sync', 'SUMMARY:Sync (moved to room 4)'),
      );
      assert.ok(edited.status < 300);
    });
    const outbox = recordingOutbox();
    const gateway = gatewayIn(stateDir, proxy.url);
    try {
      gateway.start(outbox);
      await gateway.syncNow();
      await put('edited.ics', invite('edited-1'));
      await gateway.syncNow();
      await gateway.statusChanged({
        jobId: `job-${outbox.messages.length}`,
        uid: 'edited-1',
        originator: ALICE,
        recipient: BOB,
        state: 'delivered',
        requestStatus: '2.0;Success',
      });
    } finally {
      await gateway.close();
      await proxy.close();
    }
    assert.ok(proxy.raced, 'the race happened');
    const stored = unfolded(
      await (await radicale.request('alice', 'GET', '/alice/calendar/edited.ics')).text(),
    );
    assert.match(stored, /SUMMARY:Sync \(moved to room 4\)/, "alice's edit is kept");
    assert.match(stored, /SCHEDULE-STATUS=2\.0:mailto:bob@b\.example/, 'and the status is written onto it');
  });

  it("answers a REFRESH by sending the organizer's copy again, to an invited attendee only", async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'gateway-state-'));
    const outbox = recordingOutbox();
    const gateway = gatewayIn(stateDir);
    const signal = new AbortController().signal;
    const refresh = async (from: string) =>
      gateway.adapter.deliverToInbox({
        recipient: ALICE,
        user: (await gateway.adapter.lookupUser({ address: ALICE, request: {} as never, signal }))!,
        originator: from,
        message: parseScheduleMessage(
          ics(
            vevent('UID:refresh-1', 'DTSTAMP:20261202T000000Z', `ORGANIZER:${ALICE}`, `ATTENDEE:${from}`),
            'REFRESH',
          ),
        ),
        request: {} as never,
        signal,
      });
    try {
      await put('refresh.ics', invite('refresh-1', 'Kept up to date'));
      const early = await refresh(BOB);
      assert.equal(
        typeof early === 'object' && early.requestStatus,
        '3.14;Unsupported capability',
        'no outbox yet',
      );
      gateway.start(outbox);
      await gateway.syncNow();
      assert.equal(await refresh(BOB), undefined);
      const [sent] = outbox.messages;
      assert.deepEqual(sent?.recipients, [BOB]);
      const message = parseScheduleMessage(sent!.calendar);
      assert.equal(message.method, 'REQUEST');
      assert.match(unfolded(sent!.calendar), /SUMMARY:Kept up to date/);
      const stranger = await refresh(CAROL);
      assert.equal(typeof stranger === 'object' && stranger.requestStatus, '3.8;No authority');
      assert.equal(outbox.messages.length, 1);
    } finally {
      await gateway.close();
    }
  });

  it('follows the other users when one fails, warns of one the server does not know, and bounds what one sync reads', async () => {
    const own = await startRadicale(['alice']);
    // Stopped even when an assertion fails first: a daemon left running would hold the run open.
    after(() => own.close());
    const warnings: string[] = [];
    const outbox = recordingOutbox();
    const options = {
      url: own.url,
      username: 'gateway',
      password: 'gateway',
      domains: ['a.example'],
      syncInterval: 60_000,
      maxObjects: 2,
    };
    const gateway = caldavGateway({
      ...options,
      // A path the server does not have, an address nobody has, then alice.
      users: { 'mailto:ghost@a.example': '/ghost/', [ALICE]: '/alice/' },
      follow: ['mailto:ghost@a.example', 'mailto:nobody@a.example', ALICE],
      stateDir: mkdtempSync(path.join(tmpdir(), 'gateway-state-')),
      logger: { warn: (message) => warnings.push(message) },
    });
    try {
      gateway.start(outbox);
      await assert.rejects(
        gateway.syncNow(),
        /answered 404/,
        'a configured path the server lacks is an error to fix',
      );
      assert.ok(
        warnings.some((w) => w.includes('nobody@a.example is not a user')),
        warnings.join('\n'),
      );
      const saved = await own.request('alice', 'PUT', '/alice/calendar/bound-1.ics', {
        body: invite('bound-1'),
        headers: { 'Content-Type': 'text/calendar' },
      });
      assert.ok(saved.status < 300);
      await assert.rejects(gateway.syncNow(), /answered 404/);
      assert.deepEqual(
        outbox.messages.map((m) => parseScheduleMessage(m.calendar).uid),
        ['bound-1'],
        'alice is followed all the same',
      );
      for (const n of [2, 3]) {
        const more = await own.request('alice', 'PUT', `/alice/calendar/bound-${n}.ics`, {
          body: invite(`bound-${n}`),
          headers: { 'Content-Type': 'text/calendar' },
        });
        assert.ok(more.status < 300);
      }
    } finally {
      await gateway.close();
    }
    const bounded = caldavGateway({
      ...options,
      users: { [ALICE]: '/alice/' },
      stateDir: mkdtempSync(path.join(tmpdir(), 'gateway-state-')),
    });
    try {
      bounded.start(recordingOutbox());
      await assert.rejects(bounded.syncNow(), /more than 2 objects/);
    } finally {
      await bounded.close();
    }
  });
});
