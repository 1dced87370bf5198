import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { RedisReplayStore, signRequest } from '../support/api.js';
import { draftHeaders, fixture, keys } from '../support/fixtures.js';
import { post, startReceiver, type TestReceiver } from '../support/receiver.js';
import { redisUnavailable, startRedis, type TestRedis } from '../support/redis.js';

const invitation = fixture('draft/a1-request.ics');
const skip = redisUnavailable();

/** One request signed once: the same octets can be sent to several receivers. */
function signedOnce() {
  const headers = draftHeaders();
  return [
    ...headers,
    ['DKIM-Signature', signRequest({ headers, body: invitation, key: keys.jupiter })],
  ] as Array<[string, string]>;
}

describe('RedisReplayStore: one replay memory for every receiver', { skip }, () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  it('remembers a key until its expiry, atomically, under its prefix', async () => {
    const store = new RedisReplayStore({ url: redis.url });
    const other = new RedisReplayStore({ url: redis.url, prefix: 'elsewhere:' });
    try {
      const expiresAt = Date.now() + 400;
      const answers = await Promise.all(Array.from({ length: 20 }, () => store.remember('k1', expiresAt)));
      assert.equal(answers.filter(Boolean).length, 1, 'exactly one of 20 concurrent calls is first');
      assert.equal(await other.remember('k1', expiresAt), true, 'another prefix is another namespace');
      const stored = redis.cli('--scan').split('\n').sort();
      assert.equal(stored.length, 2);
      assert.match(stored[0]!, /^elsewhere:replay:[\w-]{43}$/);
      assert.match(stored[1]!, /^ischedule:replay:[\w-]{43}$/);
      assert.ok(Number(redis.cli('PTTL', stored[1]!)) <= 400);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(await store.remember('k1', Date.now() + 400), true, 'expired with its signature');
    } finally {
      await store.close();
      await other.close();
    }
  });

  it('claims a recipient once and answers its outcome, even after Redis lost its scripts', async () => {
    const store = new RedisReplayStore({ url: redis.url });
    try {
      const holdUntil = Date.now() + 5000;
      const claims = await Promise.all(Array.from({ length: 10 }, () => store.claim('m1:bob', holdUntil)));
      assert.equal(claims.filter((c) => c.held).length, 1, 'one of 10 concurrent claims holds');
      assert.deepEqual(
        claims.find((c) => !c.held),
        { held: false },
        'the others see it in progress',
      );
      await store.settle('m1:bob', { requestStatus: '2.0;Success' }, Date.now() + 5000);
      // A restarted or failed-over Redis has no scripts: the store must send the text again.
      redis.cli('SCRIPT', 'FLUSH');
      assert.deepEqual(await store.claim('m1:bob', holdUntil), {
        held: false,
        outcome: { requestStatus: '2.0;Success' },
      });
      assert.deepEqual(await store.claim('m1:carol', holdUntil), { held: true });
      await store.settle('m1:carol', undefined, Date.now() + 5000);
      assert.deepEqual(await store.claim('m1:carol', holdUntil), { held: true }, 'released: claimable again');
    } finally {
      await store.close();
    }
  });

  it('two receivers on one Redis deliver a request once, however it is sent to them', async () => {
    const stores = [new RedisReplayStore({ url: redis.url }), new RedisReplayStore({ url: redis.url })];
    const receivers: TestReceiver[] = await Promise.all(
      stores.map((replayStore) => startReceiver({ router: { replayStore } })),
    );
    try {
      for (let round = 0; round < 5; round++) {
        const headers = signedOnce();
        const results = await Promise.all(
          receivers.map((receiver) => post(receiver, { headers, body: invitation, key: false })),
        );
        const statuses = results.map((r) => r.status).sort();
        assert.deepEqual(statuses, [200, 403], `round ${round}`);
        assert.match(results.find((r) => r.status === 403)?.error?.description ?? '', /replay refused/);
      }
      assert.equal(receivers[0]!.delivered.length + receivers[1]!.delivered.length, 5);
    } finally {
      await Promise.all(receivers.map((r) => r.close()));
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('remembers each recipient of a message for retries at any receiver: delivered once', async () => {
    const stores = [new RedisReplayStore({ url: redis.url }), new RedisReplayStore({ url: redis.url })];
    const calls: string[] = [];
    const users = ['mailto:cyrus@example.org', 'mailto:dora@example.org'];
    let doraFails = true;
    const adapter = {
      deliverToInbox: async ({ recipient }: { recipient: string }) => {
        calls.push(recipient);
        // Held long enough that the other copy finds each recipient taken, however slow CI is.
        await new Promise((resolve) => setTimeout(resolve, 300));
        if (recipient === 'mailto:dora@example.org' && doraFails) throw new Error('inbox offline');
      },
    };
    const receivers = await Promise.all(
      stores.map((replayStore) => startReceiver({ users, adapter, router: { replayStore } })),
    );
    const body = invitation
      .toString()
      .replace('END:VEVENT', 'ATTENDEE:mailto:dora@example.org\r\nEND:VEVENT');
    const headers = draftHeaders({ recipients: users });
    try {
      // Two copies at once, one at each receiver: each recipient is tried once.
      await Promise.all(
        receivers.map((receiver, i) => post(receiver, { headers, body, sign: { expiresIn: 300 + i } })),
      );
      assert.deepEqual(calls.sort(), users);
      doraFails = false;
      const retry = await post(receivers[1]!, { headers, body, sign: { expiresIn: 310 } });
      assert.deepEqual(
        retry.responses?.map((r) => [r.requestStatus, r.description]),
        [
          ['2.0;Success', 'already received: Delivered to recipient'],
          ['2.0;Success', 'Delivered to recipient'],
        ],
      );
      assert.equal(calls.filter((c) => c === 'mailto:cyrus@example.org').length, 1);
      assert.equal(calls.filter((c) => c === 'mailto:dora@example.org').length, 2);
      const records = redis.cli('--scan', '--pattern', 'ischedule:delivery:*').split('\n').filter(Boolean);
      assert.ok(records.length >= 2, 'a record per recipient');
      for (const key of records) assert.match(key, /^ischedule:delivery:[\w-]{43}$/);
    } finally {
      await Promise.all(receivers.map((r) => r.close()));
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('Redis down: 503 with Retry-After at once, nothing delivered, logged once; back by itself', async () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message), info: () => {} };
    const replayStore = new RedisReplayStore({ url: redis.url, commandTimeout: 500, logger });
    const receiver = await startReceiver({ router: { replayStore, logger } });
    try {
      assert.equal((await post(receiver, { headers: draftHeaders(), body: invitation })).status, 200);
      await redis.stop();
      for (let i = 0; i < 4; i++) {
        const started = Date.now();
        const result = await post(receiver, { headers: draftHeaders(), body: invitation });
        assert.equal(result.status, 503);
        assert.equal(result.error?.code, 'service-unavailable');
        assert.equal(result.headers['retry-after'], '5');
        assert.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms`);
      }
      assert.equal(receiver.delivered.length, 1, 'nothing delivered without its replay check');
      assert.equal(warnings.filter((w) => /Redis replay store unreachable/.test(w)).length, 1);
      assert.ok(warnings.filter((w) => /deferred \(503\)/.test(w)).length <= 2, warnings.join('\n'));

      await redis.start();
      let status = 0;
      for (let attempt = 0; attempt < 40 && status !== 200; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        status = (await post(receiver, { headers: draftHeaders(), body: invitation })).status;
      }
      assert.equal(status, 200, 'the receiver recovers by itself when Redis returns');
      assert.equal(receiver.delivered.length, 2);
    } finally {
      await receiver.close();
      await replayStore.close();
    }
  });

  it('Redis slow: the request is answered 503 at the command deadline, not held', async () => {
    const replayStore = new RedisReplayStore({ url: redis.url, commandTimeout: 300 });
    const receiver = await startReceiver({ router: { replayStore } });
    try {
      assert.equal((await post(receiver, { headers: draftHeaders(), body: invitation })).status, 200);
      redis.cli('CLIENT', 'PAUSE', '3000', 'WRITE');
      const started = Date.now();
      const result = await post(receiver, { headers: draftHeaders(), body: invitation });
      const took = Date.now() - started;
      assert.equal(result.status, 503);
      assert.ok(took < 1500, `answered in ${took} ms`);
      assert.equal(receiver.delivered.length, 1);
    } finally {
      redis.cli('CLIENT', 'UNPAUSE');
      await receiver.close();
      await replayStore.close();
    }
  });

  it('waits for a command at most commandTimeout, 1 s unless told, and the claim script no longer', async () => {
    for (const [options, timeout] of [
      [{}, 1000],
      [{ commandTimeout: 1500 }, 1500],
    ] as const) {
      const store = new RedisReplayStore({ url: redis.url, ...options });
      try {
        // Connected, and the claim script known to Redis, before Redis stops taking writes.
        await store.claim(`warm-${timeout}`, Date.now() + 5000);
        redis.cli('CLIENT', 'PAUSE', '8000', 'WRITE');
        for (const command of [
          () => store.remember(`slow-${timeout}`, Date.now() + 5000),
          () => store.claim(`slow-${timeout}`, Date.now() + 5000),
        ]) {
          const started = Date.now();
          await assert.rejects(command());
          const took = Date.now() - started;
          // Never sooner; later only by this machine's lag, far less than a second deadline.
          assert.ok(took >= timeout - 50 && took < timeout * 1.8, `${timeout} ms deadline, took ${took} ms`);
        }
      } finally {
        redis.cli('CLIENT', 'UNPAUSE');
        await store.close();
      }
    }
  });

  it('keeps records under its prefix, and answers a record it cannot read as in progress', async () => {
    const store = new RedisReplayStore({ url: redis.url, prefix: 'site2:' });
    try {
      assert.deepEqual(await store.claim('m2:bob', Date.now() + 5000), { held: true });
      const digest = createHash('sha256').update('m2:bob').digest('base64url');
      assert.equal(redis.cli('GET', `site2:delivery:${digest}`), 'pending');
      redis.cli('SET', `site2:delivery:${digest}`, '{not json');
      assert.deepEqual(await store.claim('m2:bob', Date.now() + 5000), { held: false });
    } finally {
      await store.close();
    }
  });

  it('closes only a connection it made: a client the host gave stays open', async () => {
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url);
    try {
      const store = new RedisReplayStore({ client });
      assert.equal(await store.remember('host-client', Date.now() + 1000), true);
      await store.close();
      assert.equal(await client.ping(), 'PONG');
    } finally {
      client.disconnect();
    }
  });

  it('says what is missing: neither url nor client, or both, or a client without its methods', () => {
    assert.throws(() => new RedisReplayStore({}), { name: 'SetupError', code: 'no-redis' });
    assert.throws(
      () => new RedisReplayStore({ client: {} as never }),
      /RedisReplayStore options\.client\.call is required/,
    );
    assert.throws(
      () => new RedisReplayStore({ url: 'http://x' }),
      /url must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });
});
