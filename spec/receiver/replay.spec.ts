/**
 * The replay defence: a captured request is refused while its signature lives, the lifetime is
 * bounded, only requests about to be delivered take room, and a full store refuses the signers
 * filling it, not everyone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifySignature } from '../../lib/receiver/authenticate.js';
import { resolveOptions } from '../../lib/receiver/resolve-options.js';
import {
  keyRecord,
  type Logger,
  MemoryReplayStore,
  privateExchangeKeys,
  type ReplayStore,
  ReplayStoreFullError,
  signRequest,
  VerificationError,
} from '../support/api.js';
import {
  draftHeaders,
  fixture,
  type Headers,
  keys,
  testKeyRecords,
  testKeyResolver,
} from '../support/fixtures.js';
import { post, startReceiver, type TestReceiver } from '../support/receiver.js';
import { signWithTags } from '../support/sign-raw.js';

const invitation = fixture('draft/a1-request.ics').toString();
const now = () => Math.floor(Date.now() / 1000);

/** Sends `headers` with a signature made by signWithTags (t=/x= as given). */
function sendRaw(receiver: TestReceiver, headers: Headers, times: { t?: number; x?: number }) {
  const signature = signWithTags(headers, invitation, keys.jupiter, times);
  return post(receiver, {
    headers: [...headers, ['DKIM-Signature', signature]],
    body: invitation,
    key: false,
  });
}

describe('the lifetime of an accepted signature is bounded', () => {
  it('refuses x= further after t= than maxSignatureAge (default 3600 s)', async () => {
    const receiver = await startReceiver();
    try {
      const far = await post(receiver, {
        headers: draftHeaders(),
        body: invitation,
        sign: { expiresIn: 999_999_999 },
      });
      assert.equal(far.status, 403);
      assert.match(far.error?.description ?? '', /x=\d+ is 999999999 s after t=\d+; .* at most 3600 s/);
      const hour = await post(receiver, {
        headers: draftHeaders(),
        body: invitation,
        sign: { expiresIn: 3600 },
      });
      assert.equal(hour.status, 200, 'an hour, as CalendarServer signs, is accepted');
      assert.equal(receiver.delivered.length, 1);
    } finally {
      await receiver.close();
    }
  });

  it('requires t= by default, so that every signature can be remembered until it expires', async () => {
    const strict = await startReceiver();
    const lenient = await startReceiver({ router: { policy: { requireTimestamp: false } } });
    try {
      const refused = await sendRaw(strict, draftHeaders(), { x: now() + 300 });
      assert.equal(refused.status, 403);
      assert.match(refused.error?.description ?? '', /no t= tag; this receiver requires the signing time/);
      assert.equal(strict.delivered.length, 0);
      const accepted = await sendRaw(lenient, draftHeaders(), { x: now() + 300 });
      assert.equal(accepted.status, 200, 'requireTimestamp: false loosens it');
    } finally {
      await strict.close();
      await lenient.close();
    }
  });

  it('expires a signature without x= once t= is older than maxSignatureAge', async () => {
    const receiver = await startReceiver();
    const shortLived = await startReceiver({ router: { policy: { maxSignatureAge: 60 } } });
    try {
      const old = await sendRaw(receiver, draftHeaders(), { t: now() - 3700 });
      assert.equal(old.status, 403, old.text);
      assert.match(old.error?.description ?? '', /has no x= and is older than 3600 s/);
      assert.equal((await sendRaw(shortLived, draftHeaders(), { t: now() - 100 })).status, 403);
      assert.equal(receiver.delivered.length + shortLived.delivered.length, 0);
      const recent = await sendRaw(receiver, draftHeaders(), { t: now() - 3500 });
      assert.equal(recent.status, 200, 'within the maximum age it is accepted');
      assert.equal((await sendRaw(shortLived, draftHeaders(), { t: now() - 30 })).status, 200);
    } finally {
      await receiver.close();
      await shortLived.close();
    }
  });

  it('remembers a signature without x= until t= plus the maximum age', async () => {
    const remembered: number[] = [];
    const store: ReplayStore = {
      remember: (_key, expiresAt) => {
        remembered.push(expiresAt);
        return true;
      },
    };
    const receiver = await startReceiver({ router: { replayStore: store } });
    try {
      const t = now() - 100;
      const result = await sendRaw(receiver, draftHeaders(), { t });
      assert.equal(result.status, 200, result.text);
      assert.deepEqual(remembered, [(t + 3600) * 1000]);
    } finally {
      await receiver.close();
    }
  });
});

describe('what the replay store remembers', () => {
  it('only requests that passed every other check, just before delivery', async () => {
    const store = new MemoryReplayStore();
    const receiver = await startReceiver({ router: { replayStore: store } });
    try {
      const junk = await post(receiver, { headers: draftHeaders(), body: 'BEGIN:VCALENDAR\r\nnonsense\r\n' });
      assert.equal(junk.status, 400);
      const forwarded = await post(receiver, {
        headers: draftHeaders(),
        body: invitation.replace(
          'ORGANIZER:mailto:bernard@example.com',
          'ORGANIZER:mailto:someone@example.com',
        ),
      });
      assert.equal(forwarded.error?.code, 'invalid-scheduling-message');
      assert.equal(store.size, 0, 'refused requests take no room');
      const good = await post(receiver, { headers: draftHeaders(), body: invitation });
      assert.equal(good.status, 200);
      assert.equal(store.size, 1);
    } finally {
      await receiver.close();
    }
  });

  it('refuses the replay of a signature that does not sign iSchedule-Message-ID', async () => {
    const receiver = await startReceiver();
    try {
      const headers = draftHeaders().filter(([name]) => name !== 'iSchedule-Message-ID');
      const signature = signRequest({ headers, body: invitation, key: keys.jupiter });
      const first = await post(receiver, {
        headers: [...headers, ['DKIM-Signature', signature]],
        body: invitation,
        key: false,
      });
      assert.equal(first.status, 200);
      const again = await post(receiver, {
        headers: [...headers, ['DKIM-Signature', signature]],
        body: invitation,
        key: false,
      });
      assert.equal(again.status, 403);
      assert.match(again.error?.description ?? '', /this signature was already used/);
      assert.equal(receiver.delivered.length, 1);
    } finally {
      await receiver.close();
    }
  });

  it('a full store refuses the signer filling it (503, Retry-After), still takes others, and logs once', async () => {
    const warnings: string[] = [];
    const logger: Logger = { warn: (message) => warnings.push(message) };
    const other = privateExchangeKeys({
      ...testKeyRecords(),
      'other._domainkey.example.net': keyRecord(keys.jupiter.privateKey),
    });
    const receiver = await startReceiver({
      keys: { methods: ['dns/txt'], lookup: (q) => other.lookup({ ...q, method: 'private-exchange' }) },
      router: { replayStore: new MemoryReplayStore({ maxEntries: 3 }), logger },
    });
    const fromNet = () =>
      post(receiver, {
        headers: draftHeaders().map(([n, v]) =>
          n === 'Originator' ? [n, 'mailto:nina@example.net'] : [n, v],
        ) as Headers,
        body: invitation.replaceAll('mailto:bernard@example.com', 'mailto:nina@example.net'),
        key: { ...keys.jupiter, domain: 'example.net', selector: 'other' },
      });
    try {
      for (let i = 0; i < 3; i++)
        assert.equal((await post(receiver, { headers: draftHeaders(), body: invitation })).status, 200);
      for (let i = 0; i < 2; i++) {
        const shed = await post(receiver, { headers: draftHeaders(), body: invitation });
        assert.equal(shed.status, 503);
        assert.equal(shed.error?.code, 'service-unavailable');
        assert.match(
          shed.error?.description ?? '',
          /too many recent signatures from example\.com; retry in \d+ s|from example\.com .*retry in/,
        );
        assert.ok(Number(shed.headers['retry-after']) >= 1);
      }
      assert.equal((await fromNet()).status, 200, 'another signer still gets in');
      assert.equal(receiver.delivered.length, 4);
      assert.equal(warnings.filter((w) => /deferred/.test(w)).length, 1, 'logged once for the burst');
    } finally {
      await receiver.close();
    }
  });

  it('a store that cannot answer means 503 with Retry-After, nothing delivered, and a log line', async () => {
    const errors: Array<Record<string, unknown> | undefined> = [];
    const receiver = await startReceiver({
      router: {
        replayStore: {
          remember: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:6379')),
        },
        logger: { warn: (_m, details) => errors.push(details) },
      },
    });
    try {
      const result = await post(receiver, { headers: draftHeaders(), body: invitation });
      assert.equal(result.status, 503);
      assert.equal(result.headers['retry-after'], '5');
      assert.match(result.error?.description ?? '', /cannot check this request for replay now/);
      assert.doesNotMatch(result.error?.description ?? '', /10\.0\.0\.7|ECONNREFUSED/);
      assert.equal(receiver.delivered.length, 0);
      assert.match(String(errors[0]?.detail), /ECONNREFUSED 10\.0\.0\.7/);
    } finally {
      await receiver.close();
    }
  });
});

describe('what a replay is keyed by', () => {
  /** A store that only remembers keys (no per-recipient records), as a host may write one. */
  const rememberOnly = () => {
    const keys = new Set<string>();
    const store: ReplayStore = { remember: (key) => !keys.has(key) && Boolean(keys.add(key)) };
    return { store, keys };
  };
  const withMessageId = (id: string) =>
    draftHeaders().map(([name, value]): [string, string] => [
      name,
      name === 'iSchedule-Message-ID' ? id : value,
    ]);

  it('a signed iSchedule-Message-ID, trimmed: whitespace a relaxed signature ignores makes no new message', async () => {
    const { store } = rememberOnly();
    const receiver = await startReceiver({ router: { replayStore: store } });
    try {
      const first = await post(receiver, { headers: withMessageId('msg-1'), body: invitation });
      assert.equal(first.status, 200, first.text);
      const padded = await post(receiver, { headers: withMessageId('  msg-1 '), body: invitation });
      assert.equal(padded.status, 403, 'the same message under a fresh signature');
      assert.match(padded.error?.description ?? '', /msg-1 from example\.com was already received/);
      assert.equal(receiver.delivered.length, 1);
    } finally {
      await receiver.close();
    }
  });

  it('never an iSchedule-Message-ID the signature does not cover', async () => {
    const { store } = rememberOnly();
    const receiver = await startReceiver({ router: { replayStore: store } });
    try {
      // Two signatures (x= differs), neither covering the Message-ID.
      const unsigned = (expiresIn: number) => ({
        sign: { expiresIn, signedHeaders: ['Originator', 'Recipient', 'Content-Type', 'iSchedule-Version'] },
      });
      const first = await post(receiver, {
        headers: withMessageId('same'),
        body: invitation,
        ...unsigned(300),
      });
      const second = await post(receiver, {
        headers: withMessageId('same'),
        body: invitation,
        ...unsigned(301),
      });
      assert.equal(first.status, 200, first.text);
      assert.equal(second.status, 200, 'an unsigned Message-ID is anyone’s to choose: not a replay');
      assert.equal(receiver.delivered.length, 2);
    } finally {
      await receiver.close();
    }
  });

  it('a signed iSchedule-Message-ID that is absent leaves the signature as the key, not a crash', async () => {
    const receiver = await startReceiver();
    try {
      // h= names iSchedule-Message-ID; the request has none (an absent header signs as nothing).
      const headers = draftHeaders().filter(([name]) => name !== 'iSchedule-Message-ID');
      const result = await sendRaw(receiver, headers, { t: now(), x: now() + 300 });
      assert.equal(result.status, 200, result.text);
      assert.equal(receiver.delivered.length, 1);
    } finally {
      await receiver.close();
    }
  });

  it('per recipient only with a store that can both claim and settle, and only for a signed Message-ID', async () => {
    const keys: string[] = [];
    const claimOnly: ReplayStore = {
      remember: (key) => !keys.includes(key) && keys.push(key) > 0,
      claim: () => ({ held: true }),
    };
    const settleOnly: ReplayStore = { ...rememberOnly().store, settle: () => undefined };
    const receiver = await startReceiver({ router: { replayStore: claimOnly } });
    const settling = await startReceiver({ router: { replayStore: settleOnly } });
    const memory = await startReceiver();
    try {
      // Each retry carries a fresh signature (x= differs): only the Message-ID makes it a replay.
      const retryOf = (n: number) => ({
        headers: withMessageId('m-9'),
        body: invitation,
        sign: { expiresIn: 300 + n },
      });
      assert.equal((await post(receiver, retryOf(0))).status, 200);
      const retry = await post(receiver, retryOf(1));
      assert.equal(retry.status, 403, 'without settle, a retried Message-ID is a replay');
      assert.ok(keys[0]?.startsWith('id:example.com:'), keys[0]);
      assert.equal((await post(settling, retryOf(0))).status, 200);
      const again = await post(settling, retryOf(1));
      assert.equal(again.status, 403, 'without claim, likewise');
      // Two different messages without a Message-ID are two messages, not one retried.
      const bare = () => draftHeaders().filter(([name]) => name !== 'iSchedule-Message-ID');
      assert.equal((await post(memory, { headers: bare(), body: invitation })).status, 200);
      const other = invitation.replace('UID:34222-232@example.com', 'UID:other@example.com');
      const second = await post(memory, { headers: bare(), body: other });
      assert.equal(second.responses?.[0]?.requestStatus.split(';')[0], '2.0', second.text);
      assert.equal(memory.delivered.length, 2);
    } finally {
      await receiver.close();
      await settling.close();
      await memory.close();
    }
  });
});

describe('verifySignature at the edge of the maximum age', () => {
  it('accepts a signature without x= until exactly t= plus maxSignatureAge', async () => {
    const options = resolveOptions({
      domains: ['example.org'],
      adapter: { lookupUser: () => null, deliverToInbox: () => undefined, getFreeBusy: () => [] },
      keys: testKeyResolver(),
      policy: { maxSignatureAge: 600 },
    });
    const t = now();
    const headers = draftHeaders();
    const signed: Headers = [
      ...headers,
      ['DKIM-Signature', signWithTags(headers, invitation, keys.jupiter, { t })],
    ];
    const verify = (at: number) =>
      verifySignature(signed, Buffer.from(invitation), options.keys, options, at);
    assert.equal((await verify(t + 600)).expiresAt, t + 600);
    await assert.rejects(
      verify(t + 601),
      (error: unknown) => error instanceof VerificationError && error.reason === 'expired',
    );
  });
});

describe('MemoryReplayStore', () => {
  it('answers false for a key it holds, until the key expires with its bucket', () => {
    let clock = 1_000_000;
    const store = new MemoryReplayStore({ now: () => clock, bucketSeconds: 60 });
    assert.equal(store.remember('a', clock + 30_000, { domain: 'example.com' }), true);
    assert.equal(store.remember('a', clock + 30_000, { domain: 'example.com' }), false);
    clock += 59_000;
    assert.equal(store.remember('a', clock + 1000), false, 'kept until its bucket ends');
    clock += 61_000;
    assert.equal(store.size, 0, 'the whole bucket went at once');
    assert.equal(store.remember('a', clock + 1000), true);
  });

  it('holds a remembered signature in under 64 octets', () => {
    const store = new MemoryReplayStore({ now: () => 0 });
    for (let i = 0; i < 100_000; i++)
      store.remember(`b:${i}`, 1 + (i % 3_600) * 1000, { domain: 'example.com' });
    assert.equal(store.size, 100_000);
    assert.ok(store.tableBytes / store.size < 64, `${store.tableBytes / store.size} octets each`);
  });

  it('when full, sheds registrable domains at or above an equal share, sub-domains counted together', () => {
    let clock = 0;
    const store = new MemoryReplayStore({ maxEntries: 4, now: () => clock });
    const until = 120_000;
    store.remember('1', until, { domain: 'a.evil.example' });
    store.remember('2', until, { domain: 'b.evil.example' });
    store.remember('3', until, { domain: 'c.evil.example' });
    store.remember('4', until, { domain: 'good.example' });
    assert.throws(
      () => store.remember('5', until, { domain: 'd.evil.example' }),
      (error: unknown) => error instanceof ReplayStoreFullError && error.group === 'evil.example',
    );
    assert.equal(store.remember('6', until, { domain: 'fresh.example' }), true, 'a small holder gets in');
    assert.throws(() => store.remember('7', until, { domain: 'evil.example' }), ReplayStoreFullError);
    clock = until;
    assert.equal(store.remember('8', clock + 1000, { domain: 'evil.example' }), true, 'recovers by itself');
  });
});
