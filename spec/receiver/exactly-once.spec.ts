import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { draftHeaders, fixture, type Headers } from '../support/fixtures.js';
import { post, startReceiver } from '../support/receiver.js';

const invitation = fixture('draft/a1-request.ics')
  .toString()
  .replace('END:VEVENT', 'ATTENDEE:mailto:dora@example.org\r\nEND:VEVENT');
const users = ['mailto:cyrus@example.org', 'mailto:dora@example.org'];

/** A retry: the same headers (so the same iSchedule-Message-ID) under a fresh signature. */
let lifetime = 300;
const retry = (headers: Headers) => ({ headers, body: invitation, sign: { expiresIn: lifetime++ } });

describe('exactly-once delivery when a sender retries a message', () => {
  it('delivers the recipients that failed, answers the others with their earlier status', async () => {
    const calls: string[] = [];
    let doraFails = true;
    const receiver = await startReceiver({
      users,
      adapter: {
        deliverToInbox: ({ recipient }) => {
          calls.push(recipient);
          if (recipient === 'mailto:dora@example.org' && doraFails) throw new Error('disk full');
        },
      },
    });
    try {
      const headers = draftHeaders({ recipients: users, messageId: 'retry-me' });
      const first = await post(receiver, retry(headers));
      assert.deepEqual(
        first.responses?.map((r) => r.requestStatus),
        ['2.0;Success', '5.1;Service unavailable'],
      );
      doraFails = false;
      const second = await post(receiver, retry(headers));
      assert.equal(second.status, 200, second.text);
      assert.deepEqual(
        second.responses?.map((r) => [r.requestStatus, r.description]),
        [
          ['2.0;Success', 'already received: Delivered to recipient'],
          ['2.0;Success', 'Delivered to recipient'],
        ],
      );
      const third = await post(receiver, retry(headers));
      assert.deepEqual(
        third.responses?.map((r) => r.description),
        ['already received: Delivered to recipient', 'already received: Delivered to recipient'],
      );
      assert.deepEqual(calls, [
        'mailto:cyrus@example.org',
        'mailto:dora@example.org',
        'mailto:dora@example.org',
      ]);
    } finally {
      await receiver.close();
    }
  });

  it('delivers once when two copies with fresh signatures arrive together', async () => {
    const calls: string[] = [];
    const receiver = await startReceiver({
      users,
      adapter: {
        deliverToInbox: async ({ recipient }) => {
          calls.push(recipient);
          await new Promise((resolve) => setTimeout(resolve, 100));
        },
      },
    });
    try {
      const headers = draftHeaders({ recipients: users });
      const results = await Promise.all([post(receiver, retry(headers)), post(receiver, retry(headers))]);
      assert.deepEqual(calls.sort(), users);
      const statuses = results.flatMap((r) => r.responses?.map((x) => x.requestStatus) ?? []);
      assert.equal(statuses.filter((s) => s === '2.0;Success').length >= 2, true, statuses.join(' '));
      for (const response of results.flatMap((r) => r.responses ?? [])) {
        if (response.requestStatus.startsWith('5.1'))
          assert.match(response.description ?? '', /being delivered by another request/);
      }
    } finally {
      await receiver.close();
    }
  });

  it('with a store that only remembers, refuses a retried Message-ID as before', async () => {
    const seen = new Set<string>();
    const replayStore = { remember: (key: string) => !seen.has(key) && Boolean(seen.add(key)) };
    const receiver = await startReceiver({ router: { replayStore } });
    try {
      const headers = draftHeaders({ messageId: 'plain-store' });
      assert.equal((await post(receiver, retry(headers))).status, 200);
      const second = await post(receiver, retry(headers));
      assert.equal(second.status, 403);
      assert.match(second.error?.description ?? '', /plain-store.*already received/);
      assert.equal(receiver.delivered.length, 1);
    } finally {
      await receiver.close();
    }
  });

  it('delivers nothing when the record cannot be checked, and says so when it cannot be kept', async () => {
    const seen = new Set<string>();
    const errors: string[] = [];
    let claimFails = true;
    const replayStore = {
      remember: (key: string) => !seen.has(key) && Boolean(seen.add(key)),
      claim: () => {
        if (claimFails) throw new Error('store unreachable');
        return { held: true as const };
      },
      settle: () => {
        throw new Error('store unreachable');
      },
    };
    const receiver = await startReceiver({
      router: {
        replayStore,
        logger: { warn: (m: string) => errors.push(m), error: (m: string) => errors.push(m) },
      },
    });
    try {
      const refused = await post(receiver, retry(draftHeaders()));
      assert.deepEqual(
        refused.responses?.map((r) => [r.requestStatus, r.description]),
        [['5.1;Service unavailable', 'cannot check this message for earlier delivery now; try later']],
      );
      assert.equal(receiver.delivered.length, 0);
      claimFails = false;
      const delivered = await post(receiver, retry(draftHeaders()));
      assert.equal(delivered.responses?.[0]?.requestStatus, '2.0;Success');
      assert.equal(receiver.delivered.length, 1);
      assert.deepEqual(errors, [
        'iSchedule delivery record unavailable',
        'iSchedule delivery record not saved',
      ]);
    } finally {
      await receiver.close();
    }
  });
});
