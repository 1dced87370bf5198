/**
 * Durable inbox writes off the event loop, few at a time on the disk: one worker thread writes
 * each message to a temporary file, fsyncs it, renames it into place, and then fsyncs each inbox
 * directory once for every message renamed into it since the last sync. A message is answered
 * only once its directory is synced, so a 2.0 still means on disk; what changes is the cost: one
 * hand-off to the worker per burst instead of ten thread-pool round trips per message (mkdir,
 * stat, open, write, fsync, close, rename, open, fsync, close), and one directory fsync per
 * burst instead of one per message.
 */
import { Worker } from 'node:worker_threads';

/** One message for the worker to write. */
interface WriteJob {
  readonly id: number;
  readonly inbox: string;
  readonly temporary: string;
  readonly target: string;
  readonly text: string;
}

/** The worker's answer to a job: written, or why not. */
interface WriteDone {
  readonly id: number;
  readonly error?: { readonly message: string; readonly code?: string };
  /** Set on one answer per directory synced: how many messages that sync made durable. */
  readonly synced?: number;
}

/**
 * The worker's code, run from its text (a module file would need a loader for TypeScript during
 * development). Self-contained: it reaches node:fs and node:worker_threads through its arguments.
 */
function inboxWorker(fs: typeof import('node:fs'), threads: typeof import('node:worker_threads')): void {
  const port = threads.parentPort;
  if (!port) return;
  port.on('message', (first: WriteJob) => {
    // Every job queued by now goes in this burst: their directories are synced once.
    const jobs = [first];
    for (let next = threads.receiveMessageOnPort(port); next; next = threads.receiveMessageOnPort(port)) {
      jobs.push(next.message as WriteJob);
    }
    const failed = new Map<number, WriteDone['error']>();
    const renamedInto = new Map<string, number[]>();
    for (const job of jobs) {
      let created = false;
      try {
        const fd = openTemporary(job);
        created = true;
        try {
          fs.writeFileSync(fd, job.text, 'utf8');
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        fs.renameSync(job.temporary, job.target);
        const ids = renamedInto.get(job.inbox) ?? [];
        ids.push(job.id);
        renamedInto.set(job.inbox, ids);
      } catch (error) {
        failed.set(job.id, describe(error));
        // Only our own file is removed: a name we could not create belongs to someone else.
        if (created) {
          try {
            fs.unlinkSync(job.temporary);
          } catch {
            // Already gone.
          }
        }
      }
    }
    for (const [inbox, ids] of renamedInto) {
      try {
        syncDirectory(inbox);
      } catch (error) {
        for (const id of ids) failed.set(id, describe(error));
      }
    }
    const syncs = new Map<number, number>();
    for (const ids of renamedInto.values()) if (!failed.has(ids[0]!)) syncs.set(ids[0]!, ids.length);
    for (const job of jobs) {
      const error = failed.get(job.id);
      const synced = syncs.get(job.id);
      port.postMessage(error ? { id: job.id, error } : { id: job.id, ...(synced && { synced }) });
    }
  });

  function openTemporary(job: WriteJob): number {
    try {
      return fs.openSync(job.temporary, 'wx', 0o640);
    } catch (error) {
      // The inbox is made on first use (and again if someone removed it), not checked each time.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      fs.mkdirSync(job.inbox, { recursive: true });
      return fs.openSync(job.temporary, 'wx', 0o640);
    }
  }

  function syncDirectory(directory: string): void {
    const fd = fs.openSync(directory, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  function describe(error: unknown): WriteDone['error'] {
    const code = (error as NodeJS.ErrnoException).code;
    return { message: error instanceof Error ? error.message : String(error), ...(code && { code }) };
  }
}

// tsx (development) wraps named functions in __name(); the compiled package does not.
const WORKER_SOURCE = `const __name = (target) => target;
(${inboxWorker.toString()})(require('node:fs'), require('node:worker_threads'));`;

/** What InboxWriter.write needs: where, and the message. */
export interface InboxFile {
  /** The inbox directory (made when missing). */
  readonly inbox: string;
  /** The temporary name, in the inbox, written first. */
  readonly temporary: string;
  /** The final name, in the inbox. */
  readonly target: string;
  readonly text: string;
}

/** Writes inbox files durably through one worker thread, started on first use. */
export class InboxWriter {
  #worker: Worker | undefined;
  #directorySyncs = 0;
  #written = 0;
  readonly #pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  #nextId = 0;

  /** Resolves once the file is in place and its directory synced. */
  write(file: InboxFile): Promise<void> {
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Only a worker with writes in flight keeps the process alive.
      if (this.#pending.size === 1) worker.ref();
      worker.postMessage({ id, ...file } satisfies WriteJob);
    });
  }

  /** Files written and directory fsyncs made so far: fewer syncs than files under concurrency. */
  get stats(): { readonly files: number; readonly directorySyncs: number } {
    return { files: this.#written, directorySyncs: this.#directorySyncs };
  }

  /** Stops the worker; writes in flight are refused. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) await worker.terminate();
    this.#failAll(new Error('the inbox writer was closed'));
  }

  #start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (done: WriteDone) => this.#settle(done));
    // A worker that dies takes its jobs with it: they fail (5.1 for those recipients, a sender
    // retries) and the next write starts a new worker.
    const lost = (error: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#failAll(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the inbox writer stopped (exit code ${code})`)));
    this.#worker = worker;
    return worker;
  }

  #settle(done: WriteDone): void {
    const waiting = this.#pending.get(done.id);
    if (!waiting) return;
    this.#pending.delete(done.id);
    if (this.#pending.size === 0) this.#worker?.unref();
    if (done.synced) this.#directorySyncs++;
    if (!done.error) {
      this.#written++;
      waiting.resolve();
      return;
    }
    const error: NodeJS.ErrnoException = new Error(done.error.message);
    if (done.error.code) error.code = done.error.code;
    waiting.reject(error);
  }

  #failAll(error: Error): void {
    const waiting = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of waiting) reject(error);
  }
}
