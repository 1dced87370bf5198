import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IScheduleMetrics, RedisReplayStore } from '../support/api.js';
import { draftHeaders, fixture } from '../support/fixtures.js';
import { post, startReceiver } from '../support/receiver.js';
import { redisUnavailable, startRedis } from '../support/redis.js';

const invitation = fixture('draft/a1-request.ics');
const send = (receiver: Parameters<typeof post>[0]) =>
  post(receiver, { headers: draftHeaders(), body: invitation });

describe('limits per peer', () => {
  it('per client address, before any signature work: 503 with Retry-After naming the limit', async () => {
    let verified = 0;
    const metrics = new IScheduleMetrics();
    const receiver = await startReceiver({
      router: { metrics, rateLimits: { perAddress: { points: 2, duration: 60 }, perDomain: false } },
      adapter: {
        deliverToInbox: () => {
          verified++;
        },
      },
    });
    try {
      assert.equal((await send(receiver)).status, 200);
      // Unsigned: refused by its signature, but it counts (the limit comes first).
      assert.equal(
        (await post(receiver, { headers: draftHeaders(), body: invitation, key: false })).status,
        403,
      );
      const third = await send(receiver);
      assert.equal(third.status, 503);
      assert.equal(third.error?.code, 'service-unavailable');
      assert.match(
        third.error?.description ?? '',
        /^too many requests from this address \(rateLimits\.perAddress: 2 per 60 s\); retry in \d+ s$/,
      );
      assert.ok(Number(third.headers['retry-after']) >= 1 && Number(third.headers['retry-after']) <= 60);
      assert.equal(verified, 1);
      assert.match(await metrics.registry.metrics(), /ischedule_limited_total\{limit="perAddress"\} 1\n/);
    } finally {
      await receiver.close();
    }
  });

  it('per verified signing domain, with more for a trusted partner', async () => {
    const strict = await startReceiver({
      router: { rateLimits: { perAddress: false, perDomain: { points: 2, duration: 60 } } },
    });
    const partner = await startReceiver({
      router: {
        rateLimits: {
          perAddress: false,
          perDomain: { points: 2, duration: 60 },
          domains: { 'example.com': { points: 4, duration: 60 } },
        },
      },
    });
    try {
      const statuses = async (receiver: typeof strict) => {
        const out: number[] = [];
        for (let i = 0; i < 5; i++) out.push((await send(receiver)).status);
        return out;
      };
      assert.deepEqual(await statuses(strict), [200, 200, 503, 503, 503]);
      assert.match(
        (await send(strict)).error?.description ?? '',
        /from example\.com \(rateLimits\.perDomain: 2 per 60 s\)/,
      );
      assert.deepEqual(await statuses(partner), [200, 200, 200, 200, 503]);
    } finally {
      await strict.close();
      await partner.close();
    }
  });

  it('counts across receivers through Redis', { skip: redisUnavailable() }, async () => {
    const redis = await startRedis();
    const stores = [new RedisReplayStore({ url: redis.url }), new RedisReplayStore({ url: redis.url })];
    const receivers = await Promise.all(
      stores.map((replayStore) =>
        startReceiver({
          router: {
            replayStore,
            rateLimits: {
              perAddress: false,
              perDomain: { points: 3, duration: 60 },
              redis: replayStore.client,
            },
          },
        }),
      ),
    );
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await send(receivers[i % 2]!)).status);
      assert.deepEqual(statuses, [200, 200, 200, 503, 503]);
    } finally {
      await Promise.all(receivers.map((r) => r.close()));
      await Promise.all(stores.map((s) => s.close()));
      await redis.stop();
    }
  });
});
