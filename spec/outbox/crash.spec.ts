/**
 * Kill -9 an outbox in the middle of its work and start it again: every queued message is
 * delivered, each recipient exactly once at the receiver (it answers retries of a Message-ID
 * from its records), whatever the moment of the crash.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Domains, startDomains } from '../support/domains.js';
import { itipMessage, keys } from '../support/fixtures.js';
import { redisUnavailable, startRedis, type TestRedis } from '../support/redis.js';

const child = path.join(import.meta.dirname, '..', 'support', 'outbox-child.ts');

const invitation = (uid: string, attendees: string[]) => itipMessage(uid, { attendees });

interface Running {
  readonly process: ChildProcess;
  /** Resolves when the child has printed this line. */
  said(line: string, ms?: number): Promise<void>;
}

function startChild(settings: object): Running {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], {
    env: { ...process.env, OUTBOX_CHILD: JSON.stringify(settings) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return {
    process: proc,
    said: (line, ms = 30_000) =>
      new Promise((resolve, reject) => {
        const end = Date.now() + ms;
        const timer = setInterval(() => {
          if (Date.now() > end) {
            clearInterval(timer);
            reject(new Error(`the outbox process did not say "${line}" within ${ms} ms:\n${output}`));
          } else if (output.split('\n').includes(line)) {
            clearInterval(timer);
            resolve();
          } else if (proc.exitCode !== null) {
            clearInterval(timer);
            reject(new Error(`the outbox process exited (${proc.exitCode}) before "${line}"`));
          }
        }, 20);
      }),
  };
}

const redisMissing = redisUnavailable();

describe('the outbox survives kill -9', () => {
  let world: Domains;
  let redis: TestRedis | undefined;
  before(async () => {
    if (!redisMissing) redis = await startRedis();
    world = await startDomains([
      { domain: 'example.com', key: keys.jupiter, users: ['mailto:bernard@example.com'] },
      {
        domain: 'example.org',
        key: keys.venus,
        users: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
        // Slow enough that a crash finds POSTs in flight.
        before: (app) => app.use((_req, _res, next) => setTimeout(next, 30)),
      },
    ]);
  });
  after(async () => {
    await world.close();
    await redis?.stop();
  });

  const engines = [
    {
      name: 'embedded journal',
      skip: undefined,
      where: () => ({ directory: mkdtempSync(path.join(tmpdir(), 'outbox-crash-')) }),
    },
    {
      name: 'BullMQ on redis-server',
      skip: redisMissing,
      where: () => ({ redis: redis!.url, queue: `crash-${Date.now()}` }),
    },
  ];
  for (const engine of engines)
    it(`${engine.name}: delivers every queued message once per recipient after a crash mid-delivery`, {
      skip: engine.skip,
    }, async () => {
      const recipients = ['mailto:cyrus@example.org', 'mailto:mike@example.org'];
      const messages = Array.from({ length: 40 }, (_, i) => ({
        originator: 'mailto:bernard@example.com',
        recipients: i % 2 ? recipients : recipients.slice(0, 1),
        calendar: invitation(`crash-${engine.name}-${i}`, i % 2 ? recipients : recipients.slice(0, 1)),
      }));
      const settings = { ...engine.where(), dnsServer: world.dnsServer, ca: world.ca };
      const delivered = world.domains['example.org']!.delivered;
      const before = delivered.length;

      const first = startChild({ ...settings, messages });
      await first.said('queued');
      const end = Date.now() + 10_000;
      while (delivered.length - before < 10 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      first.process.kill('SIGKILL');
      await new Promise((resolve) => first.process.once('exit', resolve));
      const atCrash = delivered.length - before;
      assert.ok(atCrash >= 10 && atCrash < 60, `killed mid-way (${atCrash} of 60 delivered)`);

      const second = startChild({ ...settings, messages: [] });
      try {
        await second.said('idle', 60_000);
      } finally {
        second.process.kill('SIGKILL');
      }
      const counts = new Map<string, number>();
      for (const d of delivered.slice(before)) {
        const key = `${d.message.uid} ${d.recipient}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      assert.equal(counts.size, 60, 'every recipient of every message delivered');
      assert.deepEqual(
        [...counts].filter(([, n]) => n !== 1),
        [],
        'none twice',
      );
    });
});
