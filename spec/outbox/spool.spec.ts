/** What other processes leave for an outbox: taken in whole, and what cannot be is kept aside. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { IScheduleClient, IScheduleOutbox, ingestSpool, spoolMessage } from '../support/api.js';
import { itipMessage, keys } from '../support/fixtures.js';

describe('the outbox spool', () => {
  it('takes a spooled message in under its id; moves a damaged file and a refused message aside, logged', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'outbox-spool-'));
    // No receiver anywhere: the message waits in the outbox, which is all this spec needs.
    const client = new IScheduleClient({
      signing: keys.jupiter,
      dns: { servers: ['127.0.0.1:9'] },
      timeout: 200,
    });
    const outbox = await IScheduleOutbox.open({ client, directory, retry: { initialDelay: 60_000 } });
    const message = {
      originator: 'mailto:bernard@example.com',
      recipients: ['mailto:cyrus@example.org'],
      calendar: itipMessage('spooled-1'),
    };
    const id = await spoolMessage(directory, message);
    // A message no key of this client covers (spooled under another configuration).
    await spoolMessage(directory, {
      ...message,
      originator: 'mailto:eve@example.net',
      calendar: itipMessage('x').replace('bernard@example.com', 'eve@example.net'),
    });
    const incoming = path.join(directory, 'incoming');
    mkdirSync(incoming, { recursive: true });
    writeFileSync(path.join(incoming, '1-torn.job.json'), '{"id": "abc", "mess');
    const errors: string[] = [];
    const spool = ingestSpool(directory, outbox, { error: (m: string) => errors.push(m) });
    try {
      await spool.ready;
      assert.deepEqual(
        (await outbox.list()).map((job) => job.id),
        [id],
      );
      assert.deepEqual(readdirSync(incoming).sort(), ['rejected']);
      assert.equal(readdirSync(path.join(incoming, 'rejected')).length, 2);
      assert.deepEqual(errors.sort(), [
        'iSchedule outbox: a spool file is no message; moved aside',
        'iSchedule outbox: a spooled message cannot be sent; moved aside',
      ]);
    } finally {
      await spool.stop();
      await outbox.close();
      client.close();
    }
  });
});
