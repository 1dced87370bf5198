/**
 * `ischedule serve --workers N`: N processes on one port (node:cluster). The primary only
 * supervises: it starts the workers (each runs the same `serve` command), prints the first one's
 * banner, replaces a worker that dies, and on SIGINT/SIGTERM lets each finish its requests.
 */
import cluster, { type Worker } from 'node:cluster';
import { CommandError, type Output } from './output.js';

/** What a worker tells the primary once it listens. */
export interface ListeningMessage {
  readonly type: 'ischedule-listening';
  readonly lines: readonly string[];
}

/** A worker that dies sooner than this after starting is not replaced at once. */
const QUICK_DEATH_MS = 5000;

export async function superviseWorkers(count: number, out: Output): Promise<void> {
  let stopping = false;
  let listening = 0;
  const started = new Map<Worker, number>();

  const failedStart = new Promise<never>((_, reject) => {
    const start = () => {
      const worker = cluster.fork();
      started.set(worker, Date.now());
      worker.on('message', (message: ListeningMessage) => {
        if (message?.type !== 'ischedule-listening') return;
        if (listening++ === 0) for (const line of message.lines) out.line(line);
        out.line(`  worker ${worker.process.pid} listening`);
      });
      worker.once('exit', (code, signal) => {
        const age = Date.now() - (started.get(worker) ?? 0);
        started.delete(worker);
        if (stopping) return;
        // A worker that never listened will not do better next time: a config or port problem.
        if (listening === 0) {
          reject(
            new CommandError(`a worker exited before listening (${signal ?? `exit ${code}`}); see above`),
          );
          return;
        }
        out.error(
          `[warn] worker ${worker.process.pid} exited (${signal ?? `exit ${code}`}); starting another`,
        );
        setTimeout(start, age < QUICK_DEATH_MS ? 1000 : 0).unref();
      });
    };
    for (let i = 0; i < count; i++) start();
  });

  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      stopping = true;
      out.line(`${signal}: each worker finishes its requests in flight, then stops`);
      const workers = [...started.keys()];
      if (workers.length === 0) return resolve();
      let left = workers.length;
      for (const worker of workers) {
        worker.once('exit', () => --left === 0 && resolve());
        worker.process.kill('SIGTERM');
      }
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

  try {
    await Promise.race([stopped, failedStart]);
  } catch (error) {
    stopping = true;
    for (const worker of started.keys()) worker.process.kill('SIGTERM');
    throw error;
  }
  out.line('stopped');
}
