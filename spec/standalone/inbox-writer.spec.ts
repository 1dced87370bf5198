import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type InboxFile, InboxWriter } from '../../lib/standalone/inbox-writer.js';

const file = (inbox: string, name: string, text = `message ${name}\r\n`): InboxFile => ({
  inbox,
  temporary: path.join(inbox, `.${name}.tmp`),
  target: path.join(inbox, `${name}.ics`),
  text,
});

describe('the inbox writer (one worker thread, grouped directory syncs)', () => {
  const writer = new InboxWriter();
  const root = mkdtempSync(path.join(tmpdir(), 'inbox-writer-'));
  after(async () => {
    await writer.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('writes every message of a burst to its own file, and syncs each directory once for many', async () => {
    const inboxes = [path.join(root, 'a', 'inbox'), path.join(root, 'b', 'inbox')];
    const before = writer.stats;
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => writer.write(file(inboxes[i % 2]!, `m${i}`, `text ${i}\r\n`))),
    );
    for (const [k, inbox] of inboxes.entries()) {
      const names = readdirSync(inbox).sort();
      assert.equal(names.length, 30, 'every message, and no temporary file left');
      assert.ok(names.every((n) => n.endsWith('.ics')));
      assert.equal(readFileSync(path.join(inbox, `m${k}.ics`), 'utf8'), `text ${k}\r\n`);
    }
    const files = writer.stats.files - before.files;
    const syncs = writer.stats.directorySyncs - before.directorySyncs;
    assert.equal(files, 60);
    assert.ok(syncs >= 2, 'each directory synced at least once');
    assert.ok(syncs < 60, `one directory sync per burst, not per message (${syncs} for 60)`);
  });

  it('makes the inbox again when it was removed after a first write', async () => {
    const inbox = path.join(root, 'c', 'inbox');
    await writer.write(file(inbox, 'first'));
    rmSync(path.dirname(inbox), { recursive: true });
    await writer.write(file(inbox, 'second'));
    assert.deepEqual(readdirSync(inbox), ['second.ics']);
  });

  it('fails only the message that cannot be written, and leaves no temporary file', async () => {
    const blocked = path.join(root, 'd');
    writeFileSync(blocked, 'a file where the user directory should be');
    const good = path.join(root, 'e', 'inbox');
    const results = await Promise.allSettled([
      writer.write(file(good, 'one')),
      writer.write(file(path.join(blocked, 'inbox'), 'lost')),
      writer.write(file(good, 'two')),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(((results[1] as PromiseRejectedResult).reason as NodeJS.ErrnoException).code, 'ENOTDIR');
    assert.deepEqual(readdirSync(good).sort(), ['one.ics', 'two.ics']);
  });

  it('refuses to overwrite a file in the way of its temporary name', async () => {
    const inbox = path.join(root, 'f', 'inbox');
    await writer.write(file(inbox, 'x'));
    writeFileSync(path.join(inbox, '.y.tmp'), 'someone else');
    await assert.rejects(writer.write(file(inbox, 'y')), { code: 'EEXIST' });
    assert.equal(readFileSync(path.join(inbox, '.y.tmp'), 'utf8'), 'someone else');
  });

  it('starts a new worker after close, and refuses what was in flight', async () => {
    const other = new InboxWriter();
    const inbox = path.join(root, 'g', 'inbox');
    const inFlight = other.write(file(inbox, 'in-flight'));
    await other.close();
    await inFlight.then(
      () => undefined, // written before the worker stopped: also acceptable
      (error: Error) => assert.match(error.message, /closed|stopped/),
    );
    await other.write(file(inbox, 'after'));
    assert.ok(readdirSync(inbox).includes('after.ics'));
    await other.close();
  });
});
