/**
 * The embedded outbox against real receivers on loopback: retries, ordering per UID, final
 * answers, the fallback, and a journal that survives what a crash leaves behind.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BullmqOutbox,
  IScheduleOutbox,
  type Outbox,
  type OutboxOptions,
  type StatusUpdate,
} from '../support/api.js';
import { type Domains, startDomains } from '../support/domains.js';
import { itipMessage, keys } from '../support/fixtures.js';
import { redisUnavailable, startRedis, type TestRedis } from '../support/redis.js';

const event = (method: string, uid: string, sequence = 0, attendees?: string[]) =>
  itipMessage(uid, { method, sequence, ...(attendees && { attendees }) });

/** A message from bernard to cyrus alone, the shape most of these specs queue. */
const toCyrus = (calendar: string) => ({
  originator: 'mailto:bernard@example.com',
  recipients: ['mailto:cyrus@example.org'],
  calendar,
});

/** What the test receiver does to the next POSTs: answer normally, 503, or go slowly. */
const behaviour = { unavailable: 0, retryAfter: 1, requestDelayMs: 0, posts: 0, forbidden: false };

async function until(condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Engine {
  readonly name: string;
  readonly skip?: string | undefined;
  open(options: EngineOptions): Promise<Outbox>;
}
type EngineOptions = Pick<
  OutboxOptions,
  'client' | 'onStatus' | 'onFallback' | 'retry' | 'concurrency' | 'perDomainRate' | 'clientFor'
>;

const redisMissing = redisUnavailable();
let redis: TestRedis | undefined;
const engines: Engine[] = [
  {
    name: 'IScheduleOutbox (embedded journal)',
    open: (options) =>
      IScheduleOutbox.open({
        ...options,
        directory: mkdtempSync(path.join(tmpdir(), 'outbox-')),
        perDomainConcurrency: 8,
      }),
  },
  {
    name: 'BullmqOutbox (BullMQ on redis-server)',
    skip: redisMissing,
    open: (options) =>
      BullmqOutbox.open({ ...options, redis: redis!.url, queue: `outbox-spec-${randomUUID()}` }),
  },
];

describe('the outbox engines', () => {
  before(async () => {
    if (!redisMissing) redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });
  for (const engine of engines) behavesAsAnOutbox(engine);
});

/** What a host relies on from either engine, proved against real receivers. */
function behavesAsAnOutbox(engine: Engine): void {
  describe(`${engine.name}: invitations survive outages and arrive once, in order`, {
    skip: engine.skip,
  }, () => {
    let world: Domains;
    before(async () => {
      world = await startDomains([
        { domain: 'example.com', key: keys.jupiter, users: ['mailto:bernard@example.com'] },
        {
          domain: 'example.org',
          key: keys.venus,
          users: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
          before: (app) =>
            app.use((req, res, next) => {
              if (req.method !== 'POST') return next();
              behaviour.posts++;
              if (behaviour.forbidden) {
                res
                  .status(403)
                  .type('application/xml')
                  .send(
                    '<?xml version="1.0" encoding="utf-8"?><error xmlns="urn:ietf:params:xml:ns:ischedule"><verification-failed/><response-description>no key</response-description></error>',
                  );
                return;
              }
              if (behaviour.unavailable > 0) {
                behaviour.unavailable--;
                res.set('Retry-After', String(behaviour.retryAfter)).status(503).end();
                return;
              }
              // REQUESTs slow, CANCELs fast: out of order, a CANCEL would arrive first.
              const isRequest = /method=REQUEST/i.test(req.get('content-type') ?? '');
              setTimeout(next, isRequest ? behaviour.requestDelayMs : 0);
            }),
        },
      ]);
    });
    after(() => world.close());

    const open = async (overrides: Partial<EngineOptions> = {}) => {
      const statuses: StatusUpdate[] = [];
      const fallbacks: StatusUpdate[] = [];
      const outbox = await engine.open({
        client: world.client('example.com', { attempts: 1 }),
        onStatus: (s) => {
          statuses.push(s);
        },
        onFallback: (f) => {
          fallbacks.push(f);
        },
        retry: { initialDelay: 50, maxDelay: 200, maxAge: 60_000 },
        ...overrides,
      });
      return { outbox, statuses, fallbacks };
    };
    const delivered = () => world.domains['example.org']!.delivered;

    it("delivers in the background and tells each recipient's status once known", async () => {
      const { outbox, statuses } = await open();
      try {
        const before = delivered().length;
        const id = await outbox.enqueue({
          originator: 'mailto:bernard@example.com',
          recipients: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
          calendar: event('REQUEST', 'bg-1', 0, ['mailto:cyrus@example.org', 'mailto:mike@example.org']),
        });
        assert.match(id, /^[\w-]{36}$/);
        await until(async () => statuses.length === 2 && (await outbox.list()).length === 0);
        assert.deepEqual(statuses.map((s) => [s.recipient, s.state, s.requestStatus, s.jobId]).sort(), [
          ['mailto:cyrus@example.org', 'delivered', '2.0;Success', id],
          ['mailto:mike@example.org', 'delivered', '2.0;Success', id],
        ]);
        assert.equal(delivered().length - before, 2);
      } finally {
        await outbox.close();
      }
    });

    it('refuses at once what the client would never send, storing nothing', async () => {
      const { outbox } = await open();
      try {
        await assert.rejects(
          outbox.enqueue({
            originator: 'mailto:bernard@example.com',
            recipients: [],
            calendar: event('REQUEST', 'x'),
          }),
          { code: 'recipient-missing' },
        );
        await assert.rejects(
          outbox.enqueue({
            originator: 'mailto:bernard@example.com',
            recipients: ['mailto:cyrus@example.org'],
            calendar: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n',
          }),
          { name: 'IScheduleError' },
        );
        assert.equal((await outbox.list()).length, 0);
      } finally {
        await outbox.close();
      }
    });

    it('waits out a 503 for at least its Retry-After, then delivers: statuses pending, then 2.0', async () => {
      const { outbox, statuses } = await open();
      try {
        behaviour.unavailable = 2;
        behaviour.retryAfter = 1;
        const posts = behaviour.posts;
        const started = Date.now();
        await outbox.enqueue(toCyrus(event('REQUEST', 'outage-1')));
        await until(() => statuses.some((s) => s.state === 'delivered'));
        assert.ok(Date.now() - started >= 2000, `two Retry-After: 1 honoured (${Date.now() - started} ms)`);
        assert.equal(behaviour.posts - posts, 3);
        assert.deepEqual(
          statuses.map((s) => [s.state, s.requestStatus]),
          [
            ['pending', '1.0;Pending'],
            ['delivered', '2.0;Success'],
          ],
        );
        // The delivered status is told before the engine retires the job (BullMQ completes it
        // after the attempt returns): it must leave the list soon after, not at that instant.
        await until(async () => (await outbox.list()).length === 0, 5000);
      } finally {
        behaviour.unavailable = 0;
        await outbox.close();
      }
    });

    it('does not retry a final answer, and sends a recipient without receiver to the fallback once', async () => {
      const { outbox, statuses, fallbacks } = await open();
      try {
        const posts = behaviour.posts;
        await outbox.enqueue({
          originator: 'mailto:bernard@example.com',
          recipients: ['mailto:nobody@example.org', 'mailto:ken@example.none'],
          calendar: event('REQUEST', 'final-1', 0, ['mailto:nobody@example.org', 'mailto:ken@example.none']),
        });
        await until(async () => (await outbox.list()).length === 0);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(behaviour.posts - posts, 1, 'one POST: 3.7 is final');
        assert.deepEqual(statuses.map((s) => [s.recipient, s.state, s.requestStatus.slice(0, 3)]).sort(), [
          ['mailto:ken@example.none', 'failed', '5.2'],
          ['mailto:nobody@example.org', 'failed', '3.7'],
        ]);
        assert.deepEqual(
          fallbacks.map((f) => [f.recipient, (f as { reason?: string }).reason]),
          [['mailto:ken@example.none', 'no-receiver']],
        );
      } finally {
        await outbox.close();
      }
    });

    it('takes a 4xx IS:error answer as final: one POST, the recipient failed, no retry', async () => {
      const { outbox, statuses } = await open();
      try {
        behaviour.forbidden = true;
        const posts = behaviour.posts;
        await outbox.enqueue(toCyrus(event('REQUEST', `forbidden-${engine.name}`)));
        await until(async () => statuses.length === 1 && (await outbox.list()).length === 0);
        await new Promise((resolve) => setTimeout(resolve, 400));
        assert.equal(behaviour.posts - posts, 1);
        assert.deepEqual(
          statuses.map((s) => [s.state, s.requestStatus, s.description]),
          [['failed', '5.2;Invalid calendar service', 'verification-failed: no key']],
        );
      } finally {
        behaviour.forbidden = false;
        await outbox.close();
      }
    });

    it('keeps the order of one UID at one domain under concurrency (a CANCEL never overtakes its REQUEST)', async () => {
      const { outbox } = await open({ concurrency: 16 });
      try {
        behaviour.requestDelayMs = 100;
        const from = delivered().length;
        const uids = ['order-a', 'order-b', 'order-c'];
        for (let sequence = 0; sequence < 4; sequence++) {
          for (const uid of uids) {
            await outbox.enqueue(toCyrus(event(sequence === 3 ? 'CANCEL' : 'REQUEST', uid, sequence)));
          }
        }
        await until(async () => (await outbox.list()).length === 0, 15_000);
        const arrived = delivered().slice(from);
        assert.equal(arrived.length, 12);
        for (const uid of uids) {
          const sequences = arrived
            .filter((d) => d.message.uid === uid)
            .map((d) => Number(/SEQUENCE:(\d+)/.exec(d.message.text)?.[1]));
          assert.deepEqual(sequences, [0, 1, 2, 3], uid);
        }
      } finally {
        behaviour.requestDelayMs = 0;
        await outbox.close();
      }
    });

    it('keeps to perDomainRate: no more attempts to a domain than it allows, none lost', async () => {
      const { outbox, statuses } = await open({ perDomainRate: { points: 2, duration: 1 } });
      try {
        const posts = behaviour.posts;
        const started = Date.now();
        for (let i = 0; i < 6; i++) {
          await outbox.enqueue(toCyrus(event('REQUEST', `rate-${engine.name}-${i}`)));
        }
        await until(() => statuses.filter((s) => s.state === 'delivered').length === 6, 20_000);
        assert.ok(
          Date.now() - started >= 2000,
          `6 at 2 a second take 2 s at least (${Date.now() - started} ms)`,
        );
        assert.equal(behaviour.posts - posts, 6, 'held back, not failed and retried');
      } finally {
        await outbox.close();
      }
    });

    it('tries again after the backoff when its own part fails (clientFor throws), never at once, never dropping it', async () => {
      let calls = 0;
      const at: number[] = [];
      const client = world.client('example.com', { attempts: 1 });
      const { outbox, statuses } = await open({
        clientFor: () => {
          calls++;
          at.push(performance.now());
          // The first call is enqueue's check; the next two attempts fail on our side.
          if (calls === 2 || calls === 3) throw new Error('CA file unreadable');
          return client;
        },
      });
      try {
        const uid = `own-failure-${engine.name}`;
        await outbox.enqueue({
          ...toCyrus(event('REQUEST', uid)),
          receiver: { url: 'https://127.0.0.1:9/' },
        });
        await until(() => statuses.some((s) => s.uid === uid && s.state === 'delivered'), 20_000);
        assert.equal(calls, 4);
        // Each failure waited out (the backoff starts at 50 ms here, jittered down to half).
        for (const i of [2, 3]) assert.ok(at[i]! - at[i - 1]! >= 20, `call ${i + 1} came at once`);
      } finally {
        await outbox.close();
      }
    });

    it('retries a callback that throws, in order, and never loses it', async () => {
      let failures = 2;
      const seen: string[] = [];
      const { outbox } = await open({
        onStatus: (s) => {
          if (failures-- > 0) throw new Error('host database away');
          seen.push(s.state);
        },
      });
      try {
        behaviour.unavailable = 1;
        behaviour.retryAfter = 0;
        await outbox.enqueue(toCyrus(event('REQUEST', 'callback-1')));
        await until(() => seen.length === 2, 30_000);
        assert.deepEqual(seen, ['pending', 'delivered']);
        await until(async () => (await outbox.list()).length === 0);
      } finally {
        behaviour.unavailable = 0;
        await outbox.close();
      }
    });

    const journalOnly = engine.name.startsWith('IScheduleOutbox') ? undefined : 'the embedded journal only';
    it('resumes after a restart; a torn last record is skipped with a log line, not a crash', {
      skip: journalOnly,
    }, async () => {
      const directory = mkdtempSync(path.join(tmpdir(), 'outbox-'));
      const outbox = await IScheduleOutbox.open({
        client: world.client('example.com', { attempts: 1 }),
        directory,
      });
      behaviour.unavailable = 1000;
      behaviour.retryAfter = 0;
      await outbox.enqueue(toCyrus(event('REQUEST', 'resume-1')));
      await outbox.close();
      appendFileSync(path.join(directory, 'outbox.journal'), '0badc0de {"op":"add","job":{"id":"tor');
      const warnings: string[] = [];
      const statuses: StatusUpdate[] = [];
      behaviour.unavailable = 0;
      const reopened = await IScheduleOutbox.open({
        client: world.client('example.com', { attempts: 1 }),
        directory,
        onStatus: (s) => {
          statuses.push(s);
        },
        logger: { warn: (message: string) => warnings.push(message) },
      });
      try {
        await until(() => statuses.some((s) => s.state === 'delivered'));
        assert.ok(
          warnings.some((w) => /unfinished last record/.test(w)),
          warnings.join('\n'),
        );
        await assert.rejects(
          IScheduleOutbox.open({ client: world.client('example.com'), directory }),
          { code: 'outbox-locked' },
          'a second outbox on the same directory is refused',
        );
      } finally {
        await reopened.close();
      }
      assert.ok(readFileSync(path.join(directory, 'outbox.journal'), 'utf8').length > 0);
    });
  });
}
