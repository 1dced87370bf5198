/**
 * The worker thread the receiver verifies on: answers exactly as crypto.verify does, however
 * the verifications are batched (one alone is verified on the calling thread), and loses none
 * when the worker dies or is stopped.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSecretKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { VerifyWorker } from '../../lib/dkim/verify-worker.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');

interface Case {
  readonly algorithm: string | null;
  readonly data: Buffer;
  readonly key: KeyObject;
  readonly signature: Buffer;
}

/** Good and bad signatures by two keys of two kinds, in an unpredictable order. */
function cases(count: number): Case[] {
  return Array.from({ length: count }, (_, i) => {
    const data = Buffer.from(`message ${i}`);
    const [algorithm, pair] = i % 3 === 0 ? [null, ed] : ['sha256', rsa];
    let signature = sign(algorithm, data, pair.privateKey);
    if (i % 4 === 1) signature = Buffer.from(signature.map((b, j) => (j === 0 ? b ^ 1 : b)));
    return { algorithm, data: i % 5 === 2 ? Buffer.from('other') : data, key: pair.publicKey, signature };
  });
}

const expected = (all: Case[]) => all.map((c) => verify(c.algorithm, c.data, c.key, c.signature));

describe('VerifyWorker', () => {
  it('answers every verification asked for at once as crypto.verify does', async () => {
    const worker = new VerifyWorker();
    const all = cases(60);
    const answers = await Promise.all(all.map((c) => worker.verify(c.algorithm, c.data, c.key, c.signature)));
    assert.deepEqual(answers, expected(all));
    assert.ok(answers.includes(true) && answers.includes(false));
    await worker.close();
  });

  it('answers across batches, the keys sent once and used again', async () => {
    const worker = new VerifyWorker();
    const all = cases(12);
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(
        all.map((c) => worker.verify(c.algorithm, c.data, c.key, c.signature)),
      );
      assert.deepEqual(answers, expected(all));
    }
    await worker.close();
  });

  it('answers a batch in parts, the first alone, whether or not this thread is busy meanwhile', async () => {
    // Each answer is stamped with the message it arrived in: the answers one message resolves
    // are stamped together, before the next message is read (microtasks run between the two).
    // Answered in one message, a whole batch has one stamp, and the calling thread waited idle
    // for all of it. Counting messages rather than turns of the event loop holds however busy
    // the machine: messages that queue up while this thread is busy still arrive one by one.
    const worker = new VerifyWorker();
    await Promise.all(cases(2).map((c) => worker.verify(c.algorithm, c.data, c.key, c.signature)));
    try {
      for (const busyMs of [0, 100]) {
        let message = 0;
        let stamping = false;
        const stamp = () => {
          if (!stamping) {
            stamping = true;
            message++;
            queueMicrotask(() => (stamping = false));
          }
          return message;
        };
        const stamps = Promise.all(
          cases(64).map((c) => worker.verify(c.algorithm, c.data, c.key, c.signature).then(stamp)),
        );
        // After the batch is posted, keep this thread busy until the worker has surely finished.
        if (busyMs) setImmediate(() => busyWait(busyMs));
        const all = await stamps;
        assert.equal(all.filter((m) => m === 1).length, 1, `messages ${all.join()} (busy ${busyMs} ms)`);
        assert.ok(all.at(-1)! > 2, `messages ${all.join()} (busy ${busyMs} ms)`);
      }
    } finally {
      await worker.close();
    }
  });

  it('loses no answer when the worker is stopped with verifications in flight, and starts again', async () => {
    const worker = new VerifyWorker();
    const all = cases(40);
    const answers = Promise.all(all.map((c) => worker.verify(c.algorithm, c.data, c.key, c.signature)));
    // The batch is sent after this round of I/O; stop the worker while it holds it.
    await new Promise((resolve) => setImmediate(resolve));
    await worker.close();
    assert.deepEqual(await answers, expected(all));
    const again = cases(5);
    assert.deepEqual(
      await Promise.all(again.map((c) => worker.verify(c.algorithm, c.data, c.key, c.signature))),
      expected(again),
    );
    await worker.close();
  });

  it('starts a new worker when its worker dies by itself, and answers the batches after', async () => {
    // The worker is private: caught as it is posted to, then ended from outside (not by close).
    const posted = Worker.prototype.postMessage;
    let caught: Worker | undefined;
    Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
      caught ??= this;
      return posted.apply(this, args);
    };
    const worker = new VerifyWorker();
    try {
      const first = cases(6);
      assert.deepEqual(
        await Promise.all(first.map((c) => worker.verify(c.algorithm, c.data, c.key, c.signature))),
        expected(first),
      );
      assert.ok(caught, 'the batch went to a worker');
      const exited = new Promise((resolve) => caught?.once('exit', resolve));
      await caught.terminate();
      await exited;
      const after = cases(6);
      assert.deepEqual(
        await Promise.all(after.map((c) => worker.verify(c.algorithm, c.data, c.key, c.signature))),
        expected(after),
      );
    } finally {
      Worker.prototype.postMessage = posted;
      await worker.close();
    }
  });

  it('answers a verification alone, with none in flight, as crypto.verify does', async () => {
    const worker = new VerifyWorker();
    for (const c of cases(6)) {
      assert.equal(await worker.verify(c.algorithm, c.data, c.key, c.signature), expected([c])[0]);
    }
    await worker.close();
  });

  it('says no for a key that is no public key, without failing the batch around it', async () => {
    const worker = new VerifyWorker();
    const [good] = cases(1);
    const answers = await Promise.all([
      worker.verify('sha256', Buffer.from('data'), createSecretKey(Buffer.alloc(32)), Buffer.alloc(256)),
      worker.verify(good!.algorithm, good!.data, good!.key, good!.signature),
    ]);
    assert.deepEqual(answers, [false, true]);
    await worker.close();
  });

  it('verifies batches on the worker thread and a lone verification on the calling thread', async () => {
    // Counts crypto.verify calls made on this thread (the worker has its own node:crypto).
    const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
    const original = crypto.verify;
    let here = 0;
    crypto.verify = ((...args: Parameters<typeof verify>) => {
      here++;
      return original(...args);
    }) as typeof verify;
    syncBuiltinESMExports();
    const worker = new VerifyWorker();
    try {
      const all = cases(30);
      const batch = () => Promise.all(all.map((c) => worker.verify(c.algorithm, c.data, c.key, c.signature)));
      assert.deepEqual(await batch(), expected(all));
      here -= all.length; // expected() verified them here
      assert.deepEqual(await batch(), expected(all), 'the keys sent once serve the next batch');
      here -= all.length;
      assert.equal(here, 0, 'a batch is verified on the worker');
      const [one] = cases(1);
      assert.equal(await worker.verify(one!.algorithm, one!.data, one!.key, one!.signature), true);
      assert.equal(here, 1, 'one alone, none in flight, is verified here');
      // Stopped with a batch in flight: what it owed is verified here.
      here = 0;
      const owed = batch();
      await new Promise((resolve) => setImmediate(resolve));
      await worker.close();
      assert.deepEqual(await owed, expected(all));
      assert.equal(here, 2 * all.length, 'verified here after the stop (and once by expected())');
    } finally {
      crypto.verify = original;
      syncBuiltinESMExports();
      await worker.close();
    }
  });

  it('keeps no process alive once its answers are given', async () => {
    const module = new URL('../../lib/dkim/verify-worker.ts', import.meta.url).href;
    const script = `
      import { generateKeyPairSync, sign } from 'node:crypto';
      const { VerifyWorker } = await import(${JSON.stringify(module)});
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const data = Buffer.from('x');
      const worker = new VerifyWorker();
      const signature = sign(null, data, privateKey);
      // Two at once: the worker answers them (one alone is verified on the calling thread).
      console.log((await Promise.all([1, 2].map(() => worker.verify(null, data, publicKey, signature)))).join());
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 20_000 },
    );
    assert.equal(stdout.trim(), 'true,true');
  });
});

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}
