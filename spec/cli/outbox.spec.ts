/**
 * The standalone server's outbox from the command line: `send --queue` hands a message over
 * whether or not the server runs, `serve` delivers it, `outbox` shows and steers the jobs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyRecord } from '../support/api.js';
import { cli, type ServeProcess, serve } from '../support/cli.js';
import { itipMessage, keys } from '../support/fixtures.js';
import { redisUnavailable, startRedis } from '../support/redis.js';

const jupiterKeyFile = path.resolve(
  import.meta.dirname,
  '..',
  '..',
  'fixtures',
  'keys',
  'example.com-jupiter.rsa.pem',
);

const invitation = (uid: string) => itipMessage(uid);

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `ischedule send --queue` from bernard@example.com. */
const queue = (config: string, to: string, ics: string) =>
  cli(['send', '--queue', '--config', config, '--from', 'mailto:bernard@example.com', '--to', to, ics]);

/** A port nothing listens on: a receiver that is down. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('ischedule send --queue, serve and outbox: the standalone outbox', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'outbox-cli-'));
  let receiver: ServeProcess;
  let senderConfig: string;
  const inbox = path.join(dir, 'receiver', 'cyrus@example.org', 'inbox');

  before(async () => {
    const receiverConfig = path.join(dir, 'receiver.json');
    writeFileSync(
      receiverConfig,
      JSON.stringify({
        listen: { host: '127.0.0.1', port: 0 },
        tls: false,
        domains: ['example.org'],
        users: ['mailto:cyrus@example.org'],
        dataDir: path.join(dir, 'receiver'),
        signing: { domain: 'example.org', selector: 'r' },
        keys: {
          methods: ['private-exchange'],
          privateExchange: { 'jupiter._domainkey.example.com': keyRecord(keys.jupiter.privateKey) },
        },
        outbox: { enabled: false },
      }),
    );
    receiver = await serve(['--config', receiverConfig]);
    senderConfig = path.join(dir, 'sender.json');
    writeFileSync(
      senderConfig,
      JSON.stringify({
        listen: { host: '127.0.0.1', port: 0 },
        tls: false,
        domains: ['example.com'],
        users: ['mailto:bernard@example.com'],
        dataDir: path.join(dir, 'sender'),
        signing: { domain: 'example.com', selector: 'jupiter', privateKeyFile: jupiterKeyFile },
        outbox: {
          queryMethods: ['private-exchange'],
          overrides: {
            'example.org': receiver.url,
            'example.down': `http://127.0.0.1:${await closedPort()}/`,
          },
          retry: { initialDelay: 200, maxDelay: 1000 },
        },
      }),
    );
  });
  after(async () => {
    await receiver?.stop();
  });

  it('queues while the server is down, delivers once it runs, and lists each job', async () => {
    const ics = path.join(dir, 'invite.ics');
    writeFileSync(ics, invitation('queued-1@example.com'));
    const queued = await queue(senderConfig, 'mailto:cyrus@example.org', ics);
    assert.equal(queued.code, 0, queued.stderr);
    const id = queued.stdout.trim();
    assert.match(id, /^[\w-]{36}$/);

    const listed = await cli(['outbox', '--config', senderConfig, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as Array<{ id: string; state: string }>).map((j) => [j.id, j.state]),
      [[id, 'incoming']],
    );

    const sender = await serve(['--config', senderConfig]);
    try {
      await until(() => {
        try {
          return readdirSync(inbox).length === 1 ? true : undefined;
        } catch {
          return undefined;
        }
      });
      await until(async () => {
        const now = await cli(['outbox', '--config', senderConfig, '--json']);
        return (JSON.parse(now.stdout) as unknown[]).length === 0 ? true : undefined;
      });
      assert.match(sender.output(), new RegExp(`outbox ${id}: mailto:cyrus@example.org delivered \\(2\\.0`));
    } finally {
      await sender.stop();
    }
    assert.equal(readdirSync(inbox).length, 1, 'delivered once');
  });

  it('shows a job waiting for a receiver that is down, and cancels it on request', async () => {
    const ics = path.join(dir, 'down.ics');
    writeFileSync(ics, invitation('down-1@example.com').replace('cyrus@example.org', 'ken@example.down'));
    const sender = await serve(['--config', senderConfig]);
    try {
      const queued = await queue(senderConfig, 'mailto:ken@example.down', ics);
      assert.equal(queued.code, 0, queued.stderr);
      const id = queued.stdout.trim();
      const waiting = await until(async () => {
        const now = await cli(['outbox', '--config', senderConfig, '--json']);
        const jobs = JSON.parse(now.stdout) as Array<{ id: string; state: string; attempts: number }>;
        return jobs.find((j) => j.id === id && j.state === 'waiting' && j.attempts >= 1);
      });
      assert.equal(waiting.id, id);
      const text = await cli(['outbox', '--config', senderConfig]);
      assert.match(text.stdout, /mailto:ken@example\.down\s+pending \(1\.0;Pending\)/);

      const cancelled = await cli(['outbox', 'cancel', id, '--config', senderConfig]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      await until(async () => {
        const now = await cli(['outbox', '--config', senderConfig, '--json']);
        return (JSON.parse(now.stdout) as unknown[]).length === 0 ? true : undefined;
      });
    } finally {
      await sender.stop();
    }
  });

  it('with redis: the queue is BullMQ, drained by the server, listed and steered from Redis', {
    skip: redisUnavailable(),
  }, async () => {
    const redis = await startRedis();
    const redisConfig = path.join(dir, 'sender-redis.json');
    const base = JSON.parse(readFileSync(senderConfig, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      redisConfig,
      JSON.stringify({ ...base, dataDir: path.join(dir, 'sender-redis'), redis: redis.url }),
    );
    const ics = path.join(dir, 'redis.ics');
    writeFileSync(ics, invitation('redis-1@example.com'));
    const sender = await serve(['--config', redisConfig]);
    try {
      const before = readdirSync(inbox).length;
      const queued = await queue(redisConfig, 'mailto:cyrus@example.org', ics);
      assert.equal(queued.code, 0, queued.stderr);
      const id = queued.stdout.trim();
      await until(() => (readdirSync(inbox).length === before + 1 ? true : undefined));
      // The status is told once the answer is recorded, a moment after the inbox has the file.
      await until(() =>
        new RegExp(`outbox ${id}: mailto:cyrus@example.org delivered`).test(sender.output())
          ? true
          : undefined,
      );

      // A job for a receiver that is down waits in BullMQ, where the command line sees it.
      writeFileSync(ics, invitation('redis-2@example.com').replace('cyrus@example.org', 'ken@example.down'));
      const down = await queue(redisConfig, 'mailto:ken@example.down', ics);
      const downId = down.stdout.trim();
      const waiting = await until(async () => {
        const now = await cli(['outbox', '--config', redisConfig, '--json']);
        const jobs = JSON.parse(now.stdout) as Array<{ id: string; attempts: number }>;
        return jobs.find((j) => j.id === downId && j.attempts >= 1);
      });
      assert.equal(waiting.id, downId);
      const cancelled = await cli(['outbox', 'cancel', downId, '--config', redisConfig]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      const after = await cli(['outbox', '--config', redisConfig, '--json']);
      assert.deepEqual(JSON.parse(after.stdout), []);
    } finally {
      await sender.stop();
      await redis.stop();
    }
  });

  it('refuses at once what could never be sent, and --queue without --config', async () => {
    const ics = path.join(dir, 'bad.ics');
    writeFileSync(
      ics,
      invitation('bad-1@example.com').replace('ORGANIZER:mailto:bernard', 'ORGANIZER:mailto:eve'),
    );
    const refused = await queue(senderConfig, 'mailto:cyrus@example.org', ics);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /originator/i);
    const noConfig = await cli([
      'send',
      '--queue',
      '--from',
      'mailto:bernard@example.com',
      '--to',
      'mailto:cyrus@example.org',
      ics,
    ]);
    assert.equal(noConfig.code, 1);
    assert.match(noConfig.stderr, /--config/);
  });
});
