import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyRecord, signRequest } from '../support/api.js';
import { type ServeProcess, serve } from '../support/cli.js';
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
    const headers = draftHeaders();
    const signed = [
      ...headers,
      [
        'DKIM-Signature',
        signRequest({ headers, body: invitation, key: keys.jupiter, queryMethods: ['private-exchange'] }),
      ],
    ] as Array<[string, string]>;
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
});
