import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyRecord, signRequest } from '../support/api.js';
import { cli, type ServeProcess, serve } from '../support/cli.js';
import { draftHeaders, fixture, keys } from '../support/fixtures.js';
import { post, type TestReceiver } from '../support/receiver.js';
import { redisUnavailable, startRedis, type TestRedis } from '../support/redis.js';

const invitation = fixture('draft/a1-request.ics');

describe('two `ischedule serve` processes on one Redis receive as one', { skip: redisUnavailable() }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ischedule-redis-serve-'));
  let redis: TestRedis;
  let servers: ServeProcess[] = [];
  let receivers: TestReceiver[] = [];
  const inbox = () => readdirSync(path.join(dir, 'data', 'cyrus@example.org', 'inbox'));

  before(async () => {
    redis = await startRedis();
    const config = {
      listen: { host: '127.0.0.1', port: 0 },
      tls: false,
      domains: ['example.org'],
      users: ['mailto:cyrus@example.org'],
      dataDir: 'data',
      signing: { domain: 'example.org', selector: 'venus', privateKeyFile: 'venus.pem' },
      keys: {
        methods: ['private-exchange'],
        privateExchange: { 'jupiter._domainkey.example.com': keyRecord(keys.jupiter.privateKey) },
      },
    };
    writeFileSync(path.join(dir, 'venus.pem'), keys.venus.privateKey);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    // One takes the config's "redis", the other --redis: both lead to the shared store.
    writeFileSync(path.join(dir, 'config-redis.json'), JSON.stringify({ ...config, redis: redis.url }));
    servers = await Promise.all([
      serve(['--config', path.join(dir, 'config-redis.json')]),
      serve(['--config', path.join(dir, 'config.json'), '--redis', redis.url]),
    ]);
    receivers = servers.map((s) => ({
      url: new URL(s.url).origin,
      delivered: [],
      close: async () => {},
    }));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await redis?.stop();
  });

  it('delivers a request sent to both at once a single time', async () => {
    const signed = signedOnce();
    const results = await Promise.all(
      receivers.map((receiver) => post(receiver, { headers: signed, body: invitation, key: false })),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 403], results.map((r) => r.text).join('\n'));
    assert.equal(inbox().length, 1);
  });

  it('answers a retry (same Message-ID, fresh signature) at the other process without a second delivery', async () => {
    const before = inbox().length;
    const headers = draftHeaders();
    const first = await post(receivers[0]!, {
      headers,
      body: invitation,
      sign: { queryMethods: ['private-exchange'] },
    });
    assert.equal(first.responses?.[0]?.requestStatus, '2.0;Success', first.text);
    const retry = await post(receivers[1]!, {
      headers,
      body: invitation,
      sign: { queryMethods: ['private-exchange'], expiresIn: 301 },
    });
    assert.equal(retry.status, 200, retry.text);
    assert.equal(retry.responses?.[0]?.requestStatus, '2.0;Success');
    assert.match(retry.responses?.[0]?.description ?? '', /^already received: /);
    assert.equal(inbox().length, before + 1);
  });

  it('serve --workers 2: one port, one delivery per request, a dead worker replaced, a clean stop', async () => {
    const workers = await serve([
      '--config',
      path.join(dir, 'config.json'),
      '--redis',
      redis.url,
      '--workers',
      '2',
    ]);
    try {
      await waitFor(
        () => (workers.output().match(/worker \d+ listening/g) ?? []).length >= 2,
        workers.output,
      );
      const receiver: TestReceiver = {
        url: new URL(workers.url).origin,
        delivered: [],
        close: async () => {},
      };
      const before = inbox().length;
      for (let round = 0; round < 4; round++) {
        const signed = signedOnce();
        // Separate connections, spread over the workers by the primary.
        const results = await Promise.all(
          [1, 2].map(() => post(receiver, { headers: signed, body: invitation, key: false })),
        );
        assert.deepEqual(results.map((r) => r.status).sort(), [200, 403]);
      }
      assert.equal(inbox().length, before + 4);

      const pid = Number(/worker (\d+) listening/.exec(workers.output())![1]);
      process.kill(pid, 'SIGKILL');
      await waitFor(() => /starting another/.test(workers.output()), workers.output);
      await waitFor(
        () => (workers.output().match(/worker \d+ listening/g) ?? []).length >= 3,
        workers.output,
      );
      const after = await post(receiver, {
        headers: draftHeaders(),
        body: invitation,
        sign: { queryMethods: ['private-exchange'] },
      });
      assert.equal(after.status, 200, after.text);
    } finally {
      assert.equal(await workers.stop(), 0, workers.output());
    }
    assert.match(workers.output(), /each worker finishes its requests in flight[\s\S]*stopped/);
  });

  it('stops within seconds on SIGTERM when Redis has gone, having said so once', async () => {
    const own = await startRedis();
    const server = await serve(['--config', path.join(dir, 'config.json'), '--redis', own.url]);
    await own.stop();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const started = Date.now();
    const code = await server.stop();
    assert.ok(Date.now() - started < 10_000, `stopped in ${Date.now() - started} ms`);
    assert.equal(code, 0, server.output());
    assert.equal(server.output().match(/outbox: Redis unreachable/g)?.length, 1, server.output());
  });

  it('serve --workers 2 without a shared store refuses to start, and says why', async () => {
    const result = await cli(['serve', '--config', path.join(dir, 'config.json'), '--workers', '2']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--workers 2 needs a replay store shared by the workers: give "redis"/);
  });
});

/** A request signed once (q=private-exchange), so that the very same octets can be sent twice. */
function signedOnce(): Array<[string, string]> {
  const headers = draftHeaders();
  const signature = signRequest({
    headers,
    body: invitation,
    key: keys.jupiter,
    queryMethods: ['private-exchange'],
  });
  return [...headers, ['DKIM-Signature', signature]];
}

async function waitFor(condition: () => boolean, output: () => string, ms = 20_000): Promise<void> {
  for (const started = Date.now(); !condition(); ) {
    if (Date.now() - started > ms) throw new Error(`timed out; output:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
