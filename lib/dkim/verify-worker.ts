/**
 * Public-key verifications off the event loop, in batches: every verification asked for while
 * the loop handles one round of I/O goes to one worker thread, in a few messages of 1, 2, 4, ...
 * verifications, each answered as soon as it is done. libuv's thread pool (crypto.verify with a
 * callback) takes one job at a time: a lock, a wake-up and a completion per request, which under
 * load cost the event loop more than the verification saves it.
 */
import { type KeyObject, verify } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * One verification, as the worker receives it: its data and signature are the next octets of
 * the batch's one buffer, moved to the worker rather than copied (a Buffer's view would carry
 * its whole pool, 8 KiB, and be copied twice on the way).
 */
interface Job {
  readonly algorithm: string | null;
  readonly dataLength: number;
  readonly signatureLength: number;
  readonly keyId: number;
  /** The key's SPKI (DER), sent with its first job only. */
  readonly key?: Uint8Array;
}

/** A batch as posted: its jobs, and their data and signatures one after another. */
interface Batch {
  readonly jobs: Job[];
  readonly octets: Uint8Array;
}

interface Pending {
  readonly algorithm: string | null;
  readonly data: Uint8Array;
  readonly key: KeyObject;
  readonly signature: Uint8Array;
  readonly resolve: (valid: boolean) => void;
}

/** A running worker, the keys it holds, and the batches it owes answers for, oldest first. */
interface Running {
  readonly worker: Worker;
  readonly keyIds: WeakMap<KeyObject, number>;
  readonly sent: Pending[][];
}

// CommonJS, evaluated in the worker: no file to find beside the built or the TypeScript module.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const keys = new Map();
parentPort.on('message', ({ jobs, octets }) => {
  const results = new Uint8Array(jobs.length);
  let offset = 0;
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i];
    const data = octets.subarray(offset, (offset += job.dataLength));
    const signature = octets.subarray(offset, (offset += job.signatureLength));
    try {
      if (job.key) keys.set(job.keyId, createPublicKey({ key: Buffer.from(job.key), format: 'der', type: 'spki' }));
      results[i] = verify(job.algorithm, data, keys.get(job.keyId), signature) ? 1 : 0;
    } catch {
      results[i] = 0;
    }
  }
  parentPort.postMessage(results, [results.buffer]);
});
`;

/** A worker thread verifying batches; restarted when it dies, its batches then verified here. */
export class VerifyWorker {
  #running: Running | undefined;
  #waiting: Pending[] = [];
  #flushScheduled = false;
  #nextKeyId = 1;

  /** Whether `signature` is valid for `data` under `key` (`algorithm` null for Ed25519). */
  verify(
    algorithm: string | null,
    data: Uint8Array,
    key: KeyObject,
    signature: Uint8Array,
  ): Promise<boolean> {
    return new Promise((resolve) => {
      this.#waiting.push({ algorithm, data, key, signature, resolve });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // After this round of I/O callbacks: every request read in it joins the batch.
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Stops the worker (what it owed is verified here); verifications asked for later start another. */
  async close(): Promise<void> {
    const running = this.#running;
    this.#running = undefined;
    if (running) await running.worker.terminate();
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#waiting;
    this.#waiting = [];
    // A verification alone, none in flight: answered sooner here than by a hop to the worker and back.
    if (batch.length === 1 && !this.#running?.sent.length) {
      batch[0]!.resolve(verifyHere(batch[0]!));
      return;
    }
    const running = this.#running ?? this.#start();
    const sent: Pending[] = [];
    const jobs: Job[] = [];
    for (const pending of batch) {
      const job = jobFor(pending, running.keyIds, () => this.#nextKeyId++);
      // A key that is no public key cannot travel (nor verify): answered here.
      if (job) {
        sent.push(pending);
        jobs.push(job);
      } else {
        pending.resolve(verifyHere(pending));
      }
    }
    // Posted in chunks of 1, 2, 4, ... jobs, each answered on its own: the first answers come
    // back while the worker verifies the rest, and this thread goes on with those requests
    // rather than wait, idle, for the whole batch.
    for (let start = 0, size = 1; start < jobs.length; start += size, size *= 2)
      post(running, sent.slice(start, start + size), jobs.slice(start, start + size));
  }

  #start(): Running {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const running: Running = { worker, keyIds: new WeakMap(), sent: [] };
    worker.on('message', (results: Uint8Array) => {
      // One answer per batch sent, in order.
      const batch = running.sent.shift()!;
      if (running.sent.length === 0) worker.unref();
      for (const [i, pending] of batch.entries()) pending.resolve(results[i] === 1);
    });
    const gone = () => {
      if (this.#running === running) this.#running = undefined;
      // What it owed is verified here rather than lost; the next batch starts a new worker.
      for (const batch of running.sent.splice(0))
        for (const pending of batch) pending.resolve(verifyHere(pending));
    };
    worker.on('error', gone);
    worker.on('exit', gone);
    // Idle, it never keeps a process alive (after the listeners: adding one refs it again).
    worker.unref();
    this.#running = running;
    return running;
  }
}

/** One chunk to the worker: its jobs, and their data and signatures in one moved buffer. */
function post(running: Running, sent: Pending[], jobs: Job[]): void {
  let length = 0;
  for (const job of jobs) length += job.dataLength + job.signatureLength;
  const octets = new Uint8Array(length);
  let offset = 0;
  for (const { data, signature } of sent) {
    octets.set(data, offset);
    offset += data.length;
    octets.set(signature, offset);
    offset += signature.length;
  }
  running.sent.push(sent);
  // Held open while it owes answers: a verification awaited by nothing else must not end the process.
  running.worker.ref();
  const message: Batch = { jobs, octets };
  running.worker.postMessage(message, [octets.buffer]);
}

/** The job for one verification; the key's SPKI goes with a key's first job to this worker. */
function jobFor(pending: Pending, keyIds: WeakMap<KeyObject, number>, newId: () => number): Job | undefined {
  const { algorithm, data, key, signature } = pending;
  const dataLength = data.length;
  const signatureLength = signature.length;
  const keyId = keyIds.get(key);
  if (keyId !== undefined) return { algorithm, dataLength, signatureLength, keyId };
  if (key.type !== 'public') return undefined;
  const id = newId();
  keyIds.set(key, id);
  const spki = key.export({ format: 'der', type: 'spki' });
  return { algorithm, dataLength, signatureLength, keyId: id, key: spki };
}

function verifyHere({ algorithm, data, key, signature }: Pending): boolean {
  try {
    return verify(algorithm, data, key, signature);
  } catch {
    return false;
  }
}
