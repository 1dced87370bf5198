/**
 * Small tools for work done on behalf of untrusted requests: waiting that stops when the caller
 * stops caring, one task shared by everyone asking the same question, and caps on how much
 * such work runs at once.
 */
import { ExpressIScheduleError } from './errors.js';

/** Settles like `promise`, or rejects with the signal's reason as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Concurrent requests for the same key share one task. Each caller may leave (its signal
 * aborts) without disturbing the others; when the last one leaves, the task's own signal aborts
 * so that it stops working for nobody.
 */
export class SharedTasks<K, V> {
  readonly #running = new Map<K, { promise: Promise<V>; controller: AbortController; waiters: number }>();

  run(key: K, signal: AbortSignal | undefined, task: (signal: AbortSignal) => Promise<V>): Promise<V> {
    let entry = this.#running.get(key);
    if (!entry) {
      const controller = new AbortController();
      const promise = task(controller.signal).finally(() => {
        if (this.#running.get(key) === entry) this.#running.delete(key);
      });
      // A rejection nobody waits for any more must not become an unhandled rejection.
      promise.catch(() => undefined);
      entry = { promise, controller, waiters: 0 };
      this.#running.set(key, entry);
    }
    const shared = entry;
    shared.waiters++;
    return abortable(shared.promise, signal).finally(() => {
      shared.waiters--;
      if (shared.waiters === 0 && this.#running.get(key) === shared) {
        this.#running.delete(key);
        shared.controller.abort(new Error('every caller went away'));
      }
    });
  }
}

/** Thrown when a cap is reached: the caller should answer "busy, retry later". */
export class CapacityError extends ExpressIScheduleError<'busy'> {
  override name = 'CapacityError';
  constructor(message: string) {
    super('busy', message);
  }
}

/** At most `total` tasks at once, and at most `perGroup` for any one group. */
export class ConcurrencyLimit {
  readonly #total: number;
  readonly #perGroup: number;
  readonly #groups = new Map<string, number>();
  #running = 0;

  constructor(limits: { readonly total: number; readonly perGroup: number }) {
    this.#total = limits.total;
    this.#perGroup = limits.perGroup;
  }

  /** Takes a place for `group`, or throws CapacityError; call the returned function once done. */
  acquire(group: string): () => void {
    const inGroup = this.#groups.get(group) ?? 0;
    // Stable messages: the log shows one line per burst of refusals, not one per refusal.
    if (this.#running >= this.#total) throw new CapacityError(`all ${this.#total} places are taken`);
    if (inGroup >= this.#perGroup)
      throw new CapacityError(`all ${this.#perGroup} places for ${group} are taken`);
    this.#running++;
    this.#groups.set(group, inGroup + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      const left = (this.#groups.get(group) ?? 1) - 1;
      if (left === 0) this.#groups.delete(group);
      else this.#groups.set(group, left);
    };
  }
}

/**
 * An abort that costs nothing until something asks for its signal: creating an AbortController
 * costs several microseconds, and most requests (their key answered from a cache) never need one.
 */
export class LazyAbortController {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get reason(): unknown {
    return this.#reason;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
