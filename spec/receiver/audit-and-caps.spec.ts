import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { draftHeaders, fixture } from '../support/fixtures.js';
import { post, startReceiver } from '../support/receiver.js';

const invitation = fixture('draft/a1-request.ics');

describe('what an operator sees and what one peer may take', () => {
  it('logs one audit line per accepted message: signer, Message-ID, recipients and statuses, no body', async () => {
    const lines: Array<[string, Record<string, unknown> | undefined]> = [];
    const logger = {
      info: (message: string, details?: Record<string, unknown>) => lines.push([message, details]),
    };
    const receiver = await startReceiver({ router: { logger } });
    try {
      const headers = draftHeaders({ messageId: 'audit-1' });
      assert.equal((await post(receiver, { headers, body: invitation })).status, 200);
      assert.deepEqual(lines, [
        [
          'iSchedule message accepted',
          {
            domain: 'example.com',
            messageId: 'audit-1',
            originator: 'mailto:bernard@example.com',
            method: 'REQUEST',
            component: 'VEVENT',
            uid: '34222-232@example.com',
            recipients: ['mailto:cyrus@example.org 2.0'],
          },
        ],
      ]);
      // Refused requests are not in the audit trail (they are warnings).
      await post(receiver, { headers: draftHeaders(), body: invitation, key: false });
      assert.equal(lines.length, 1);
    } finally {
      await receiver.close();
    }
  });

  it('caps the requests one signing domain has in progress: the rest get 503 with Retry-After', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    const receiver = await startReceiver({
      router: { limits: { maxConcurrentPerDomain: 2 } },
      adapter: {
        deliverToInbox: async () => {
          started++;
          await gate;
        },
      },
    });
    try {
      const inFlight = [0, 1].map(() => post(receiver, { headers: draftHeaders(), body: invitation }));
      while (started < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      const third = await post(receiver, { headers: draftHeaders(), body: invitation });
      assert.equal(third.status, 503);
      assert.equal(third.headers['retry-after'], '1');
      assert.equal(
        third.error?.description,
        'too many requests from example.com at once (limits.maxConcurrentPerDomain is 2); retry shortly',
      );
      release();
      assert.deepEqual(
        (await Promise.all(inFlight)).map((r) => r.status),
        [200, 200],
      );
      // The places are given back: the next request goes through.
      assert.equal((await post(receiver, { headers: draftHeaders(), body: invitation })).status, 200);
    } finally {
      release();
      await receiver.close();
    }
  });
});
