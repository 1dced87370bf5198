/** The embedded outbox's hold on its directory: one live process, and never a stale lock. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { IScheduleClient, IScheduleOutbox } from '../support/api.js';
import { keys } from '../support/fixtures.js';

const client = new IScheduleClient({ signing: keys.jupiter });
const startTime = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;

describe('the outbox journal lock', () => {
  it('takes over a lock left by a process gone, even one that had this very pid (a restarted container)', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'outbox-lock-'));
    // Our pid, another start time: a former life of this process id.
    writeFileSync(path.join(directory, 'outbox.lock'), `${process.pid} 1`);
    const outbox = await IScheduleOutbox.open({ client, directory });
    assert.equal(
      readFileSync(path.join(directory, 'outbox.lock'), 'utf8'),
      `${process.pid} ${startTime(process.pid)}`,
    );
    await assert.rejects(IScheduleOutbox.open({ client, directory }), { code: 'outbox-locked' });
    await outbox.close();
    const again = await IScheduleOutbox.open({ client, directory });
    await again.close();
  });

  it('refuses a directory a live process holds, and takes it once that process is gone', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'outbox-lock-'));
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await new Promise((resolve) => other.once('spawn', resolve));
    writeFileSync(path.join(directory, 'outbox.lock'), `${other.pid} ${startTime(other.pid!)}`);
    await assert.rejects(IScheduleOutbox.open({ client, directory }), {
      code: 'outbox-locked',
      message: new RegExp(`in use by process ${other.pid}`),
    });
    other.kill('SIGKILL');
    await new Promise((resolve) => other.once('exit', resolve));
    const outbox = await IScheduleOutbox.open({ client, directory });
    await outbox.close();
  });
});
