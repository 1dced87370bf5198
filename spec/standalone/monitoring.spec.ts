import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { httpRequest } from '../../lib/http/request.js';
import { startServer } from '../../lib/standalone/server.js';
import { keyRecord } from '../support/api.js';
import { draftHeaders, fixture, keys } from '../support/fixtures.js';
import { post } from '../support/receiver.js';
import { redisUnavailable, startRedis } from '../support/redis.js';

const invitation = fixture('draft/a1-request.ics');
const get = async (url: string) => {
  const response = await httpRequest({
    url: new URL(url),
    method: 'GET',
    headers: [],
    timeout: 5000,
    maxBytes: 1 << 20,
  });
  return { status: response.status, text: response.body.toString() };
};

describe('the standalone server: /metrics and /healthz on their own listener', {
  skip: redisUnavailable(),
}, () => {
  it('counts outcomes, statuses and reasons; says ready only while Redis answers', async () => {
    const redis = await startRedis();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'monitoring-'));
    const server = await startServer({
      listen: { host: '127.0.0.1', port: 0 },
      tls: false,
      domains: ['example.org'],
      users: ['mailto:cyrus@example.org'],
      dataDir,
      signing: { domain: 'example.org', selector: 's', privateKeyFile: path.join(dataDir, 's.pem') },
      keys: {
        methods: ['private-exchange'],
        privateExchange: { 'jupiter._domainkey.example.com': keyRecord(keys.jupiter.privateKey) },
      },
      redis: redis.url,
      monitoring: { host: '127.0.0.1', port: 0 },
      // Not this spec's subject (and BullMQ keeps timers once Redis has gone).
      outbox: { enabled: false },
    });
    try {
      const receiver = { url: new URL(server.url).origin, delivered: [], close: async () => {} };
      const sign = { queryMethods: ['private-exchange'] as const };
      assert.equal((await post(receiver, { headers: draftHeaders(), body: invitation, sign })).status, 200);
      assert.equal(
        (await post(receiver, { headers: draftHeaders(), body: invitation, key: false })).status,
        403,
      );
      // Not on the receiver's port.
      assert.equal((await get(`${new URL(server.url).origin}/metrics`)).status, 404);

      const metrics = await get(`${server.monitoringUrl}/metrics`);
      assert.equal(metrics.status, 200);
      for (const line of [
        'ischedule_requests_total{outcome="accepted",error="none"} 1',
        'ischedule_requests_total{outcome="refused",error="verification-failed"} 1',
        'ischedule_verification_failures_total{reason="no-signature"} 1',
        'ischedule_recipients_total{status="2.0"} 1',
        'ischedule_adapter_seconds_count{call="deliverToInbox"} 1',
        'ischedule_verification_seconds_count 1',
        'ischedule_key_lookups_total{method="private-exchange",result="hit"} 1',
      ])
        assert.ok(metrics.text.includes(line), `${line}\n---\n${metrics.text}`);
      assert.doesNotMatch(metrics.text, /example\.com|cyrus/, 'no addresses or domains in labels');

      assert.deepEqual(await get(`${server.monitoringUrl}/healthz`), { status: 200, text: 'ok\n' });
      assert.deepEqual(await get(`${server.monitoringUrl}/healthz/ready`), { status: 200, text: 'ready\n' });
      await redis.stop();
      assert.equal((await get(`${server.monitoringUrl}/healthz/ready`)).status, 503);
      assert.equal((await get(`${server.monitoringUrl}/healthz`)).status, 200, 'alive, though not ready');
    } finally {
      await server.close();
      await redis.stop();
    }
  });
});
