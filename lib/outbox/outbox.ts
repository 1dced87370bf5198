/**
 * The durable scheduling outbox (embedded engine): the host hands it a message and gets a job id
 * once the job is on disk; delivery runs in the background with the host's IScheduleClient,
 * retried with backoff until each recipient is answered or the message is too old, the same
 * iSchedule-Message-ID on every attempt (so the receiver delivers each recipient once). Parts for
 * one UID at one domain go out in the order queued; everything else runs in parallel, within
 * the concurrency limits.
 */
import { mkdir } from 'node:fs/promises';
import createDebug from 'debug';
import * as v from 'valibot';
import { OptionsError } from '../errors.js';
import { addressDomain } from '../itip/address.js';
import type { Logger } from '../receiver/options.js';
import type { RateLimit } from '../receiver/rate-limits.js';
import { rateLimit } from '../receiver/schema.js';
import { IScheduleClient, type SendOptions } from '../sender/client.js';
import { amount, checkOptions, fn, methods, positiveInteger, text } from '../validation.js';
import { attemptPart, backoff, DEFAULT_RETRY, type RetryPolicy } from './attempt.js';
import { type DomainRate, domainRate } from './domain-rate.js';
import {
  type FallbackReason,
  finished,
  type Notice,
  newJob,
  type OutboxJob,
  type OutboxMessage,
  partStatuses,
  type ReceiverRoute,
  type RecipientStatus,
} from './job.js';
import { Journal } from './journal.js';

const debug = createDebug('ischedule:outbox');

/** What `onStatus` is told: a recipient's new status, and which message it belongs to. */
export interface StatusUpdate extends RecipientStatus {
  readonly jobId: string;
  readonly uid: string;
  readonly originator: string;
}

/** What `onFallback` is told: a recipient iSchedule cannot reach (send it by iMIP). */
export interface FallbackRequest extends StatusUpdate {
  readonly reason: FallbackReason;
  /** The iTIP message, to send by other means. */
  readonly calendar: string;
}

export interface OutboxOptions {
  /** The client that sends (its signing keys, DNS, TLS and overrides). */
  readonly client: IScheduleClient;
  /** Where the journal lives (created if missing); one running outbox per directory. */
  readonly directory: string;
  /**
   * A recipient's status changed: pending (first temporary failure), delivered, or failed for
   * good with its REQUEST-STATUS. May return a promise; a throw is retried later, never lost.
   * Called at least once per change, in order per message (again after a crash mid-call).
   */
  readonly onStatus?: (update: StatusUpdate) => unknown;
  /** A recipient has no iSchedule receiver, or never answered within `retry.maxAge`. */
  readonly onFallback?: (request: FallbackRequest) => unknown;
  readonly retry?: RetryPolicy;
  /**
   * The client for a message that names its receiver (see OutboxMessage.receiver), sending to
   * it for these recipient domains.
   */
  readonly clientFor?: (receiver: ReceiverRoute, domains: readonly string[]) => IScheduleClient;
  /** Attempts in progress at once (default 16). */
  readonly concurrency?: number;
  /** Attempts in progress at once to one domain (default 4). */
  readonly perDomainConcurrency?: number;
  /**
   * Attempts per recipient domain per `duration` seconds (default none: a receiver's own
   * limits answer 503 with Retry-After, which the outbox honours).
   */
  readonly perDomainRate?: RateLimit;
  readonly logger?: Logger;
}

/** For a message handed over earlier (a spool): its id, and when it was first queued. */
export interface EnqueueOptions {
  /** The job id to use (a UUID); a job the outbox still holds under it is not queued twice. */
  readonly id?: string;
  /** When the message was first queued, ms since the epoch (its age counts from then). */
  readonly createdAt?: number;
}

/** What both engines offer: the embedded IScheduleOutbox and the distributed BullmqOutbox. */
export interface Outbox {
  /** Queues a message; resolves to its job id (also its iSchedule-Message-ID) once stored. */
  enqueue(message: OutboxMessage, options?: EnqueueOptions): Promise<string>;
  /** Messages not yet finished, oldest first. */
  list(): Promise<OutboxJobView[]>;
  retry(id: string): Promise<boolean>;
  cancel(id: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A job as `list()` shows it. */
export interface OutboxJobView {
  readonly id: string;
  readonly uid: string;
  readonly originator: string;
  readonly createdAt: Date;
  /** `active` while an attempt runs, `waiting` for its next attempt, `notifying` when only callbacks are owed. */
  readonly state: 'active' | 'waiting' | 'notifying';
  readonly attempts: number;
  /** The earliest next attempt of a part still waiting. */
  readonly nextAttemptAt?: Date;
  readonly recipients: readonly RecipientStatus[];
}

/** How `list()` shows a job (`active`: one of its parts is being attempted now). */
export function jobView(job: OutboxJob, active = false): OutboxJobView {
  const waiting = job.parts.filter((p) => !p.done);
  return {
    id: job.id,
    uid: job.uid,
    originator: job.originator,
    createdAt: new Date(job.createdAt),
    state: active ? 'active' : waiting.length > 0 ? 'waiting' : 'notifying',
    attempts: Math.max(0, ...job.parts.map((p) => p.attempts)),
    ...(waiting.length > 0 && {
      nextAttemptAt: new Date(Math.min(...waiting.map((p) => p.nextAttemptAt))),
    }),
    recipients: job.parts.flatMap(partStatuses),
  };
}

/** RetryPolicy as a schema (also the standalone config's `outbox.retry`). */
export const retrySchema = v.strictObject(
  {
    initialDelay: v.optional(amount('a number of milliseconds, at least 1', 1)),
    maxDelay: v.optional(amount('a number of milliseconds, at least 1', 1)),
    maxAge: v.optional(amount('a number of milliseconds, at least 1', 1)),
  },
  'an object { initialDelay, maxDelay, maxAge }',
);

const optionsSchema = v.strictObject(
  {
    client: v.instance(IScheduleClient, 'an IScheduleClient'),
    directory: text('a directory path'),
    onStatus: v.optional(fn('a function')),
    onFallback: v.optional(fn('a function')),
    clientFor: v.optional(fn('a function')),
    retry: v.optional(retrySchema),
    concurrency: v.optional(positiveInteger()),
    perDomainConcurrency: v.optional(positiveInteger()),
    perDomainRate: v.optional(rateLimit),
    logger: v.optional(methods({}, 'a logger { info, warn, error }')),
  },
  'an options object',
);

const NOTICE_RETRY_MS = 5000;

export class IScheduleOutbox implements Outbox {
  readonly #options: OutboxOptions;
  readonly #journal: Journal;
  readonly #policy: Required<RetryPolicy>;
  readonly #logger: Logger;
  readonly #running = new Map<string, Promise<void>>();
  readonly #perDomain = new Map<string, number>();
  readonly #notifying = new Set<string>();
  /** Jobs owing callbacks, or finished and still to be removed. */
  readonly #owing = new Set<string>();
  readonly #rate: DomainRate | undefined;
  /** Parts held back by perDomainRate, until when (not an attempt: nothing is recorded). */
  readonly #heldUntil = new Map<string, number>();
  /** Jobs whose callbacks failed, and when to call again. */
  readonly #noticeRetryAt = new Map<string, number>();
  #seq: number;
  /**
   * Jobs found at open (seq up to `#resumed`) wait until `#resumeAt`: an attempt cut short by a
   * crash may have been signed in this very second, and the same signature again is a replay.
   */
  readonly #resumed: number;
  readonly #resumeAt = Date.now() + 1000;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: OutboxOptions, journal: Journal) {
    this.#options = options;
    this.#journal = journal;
    this.#policy = { ...DEFAULT_RETRY, ...options.retry };
    this.#logger = options.logger ?? {};
    this.#seq = journal.lastSeq;
    this.#resumed = journal.lastSeq;
    this.#rate = options.perDomainRate && domainRate(options.perDomainRate);
    for (const job of journal.jobs) if (job.notices.length > 0 || finished(job)) this.#owing.add(job.id);
  }

  /** Opens the outbox in `options.directory` and resumes every job it holds. */
  static async open(options: OutboxOptions): Promise<IScheduleOutbox> {
    checkOptions(optionsSchema, options, 'IScheduleOutbox options');
    await mkdir(options.directory, { recursive: true, mode: 0o700 });
    const outbox = new IScheduleOutbox(options, await Journal.open(options.directory, options.logger));
    debug('opened %s with %d jobs', options.directory, outbox.#journal.size);
    outbox.#pump();
    return outbox;
  }

  /**
   * Queues a message; resolves to its job id (also its iSchedule-Message-ID) once the job is
   * durably stored. Throws at once what the client would refuse to send (see client.check).
   */
  async enqueue(message: OutboxMessage, options: EnqueueOptions = {}): Promise<string> {
    if (this.#closed) throw new Error('the outbox is closed');
    const uid = this.#check(message);
    if (options.id !== undefined && this.#journal.get(options.id)) return options.id;
    const job = newJob(message, uid, ++this.#seq, {
      ...(options.id !== undefined && { id: options.id }),
      ...(options.createdAt !== undefined && { now: options.createdAt }),
    });
    await this.#journal.add(job);
    debug('queued %s (%s) for %d recipients', job.id, uid, message.recipients.length);
    this.#pump();
    return job.id;
  }

  /** What the client would refuse to send, refused now; the message's UID. */
  #check(message: OutboxMessage): string {
    if (message.receiver && !this.#options.clientFor)
      throw new OptionsError('a message naming its receiver needs the outbox option clientFor', 'receiver');
    return this.#clientOf(message).check(message as SendOptions).uid;
  }

  #clientOf(message: {
    readonly receiver?: ReceiverRoute;
    readonly recipients?: readonly string[];
    readonly parts?: readonly { readonly domain: string }[];
  }): IScheduleClient {
    if (!message.receiver || !this.#options.clientFor) return this.#options.client;
    const domains = message.parts
      ? message.parts.map((p) => p.domain)
      : [...new Set((message.recipients ?? []).map((r) => addressDomain(r) ?? ''))];
    return this.#options.clientFor(message.receiver, domains);
  }

  /** Unfinished jobs, oldest first. */
  async list(): Promise<OutboxJobView[]> {
    return [...this.#journal.jobs].map((job) =>
      jobView(
        job,
        job.parts.some((_, i) => this.#running.has(`${job.id}#${i}`)),
      ),
    );
  }

  /** Makes a job's waiting parts due now; false when there is no such job. */
  async retry(id: string): Promise<boolean> {
    const job = this.#job(id);
    if (!job) return false;
    const now = Date.now();
    await this.#journal.update({
      ...job,
      parts: job.parts.map((p) => (p.done ? p : { ...p, nextAttemptAt: now })),
    });
    this.#noticeRetryAt.delete(id);
    this.#pump();
    return true;
  }

  /** Drops a job and whatever it still owes (no further attempts, no callbacks). */
  async cancel(id: string): Promise<boolean> {
    const job = this.#job(id);
    if (!job) return false;
    this.#owing.delete(id);
    this.#noticeRetryAt.delete(id);
    for (const index of job.parts.keys()) this.#heldUntil.delete(`${id}#${index}`);
    await this.#journal.remove(id);
    this.#logger.info?.('iSchedule outbox job cancelled', { id });
    return true;
  }

  /** Stops starting attempts, waits for those in progress, and closes the journal. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await Promise.allSettled(this.#running.values());
    await this.#journal.close();
  }

  #job(id: string): OutboxJob | undefined {
    return this.#journal.get(id);
  }

  /** Starts what is due and allowed, owed callbacks included; sets a timer for the next. */
  #pump(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    const concurrency = this.#options.concurrency ?? 16;
    const perDomain = this.#options.perDomainConcurrency ?? 4;
    for (const id of this.#owing) {
      if (this.#notifying.has(id)) continue;
      const at = this.#noticeRetryAt.get(id) ?? now;
      if (at <= now) void this.#notify(id);
      else next = Math.min(next, at);
    }
    /** The first unfinished part of each UID at each domain: only it may go. */
    const first = new Map<string, Set<string>>();
    // Oldest first; once every place is taken, the next attempt to end pumps again.
    for (const job of this.#journal.jobs) {
      if (this.#running.size >= concurrency) break;
      let lanes = first.get(job.uid);
      for (const [index, part] of job.parts.entries()) {
        if (part.done) continue;
        if (lanes?.has(part.domain)) continue;
        lanes ??= new Set();
        lanes.add(part.domain);
        first.set(job.uid, lanes);
        const key = `${job.id}#${index}`;
        if (this.#running.has(key)) continue;
        const due = Math.max(
          job.seq <= this.#resumed ? Math.max(part.nextAttemptAt, this.#resumeAt) : part.nextAttemptAt,
          this.#heldUntil.get(key) ?? 0,
        );
        if (due > now) {
          next = Math.min(next, due);
          continue;
        }
        if ((this.#perDomain.get(part.domain) ?? 0) >= perDomain) continue;
        this.#start(job, index, key);
        if (this.#running.size >= concurrency) break;
      }
    }
    if (Number.isFinite(next)) {
      this.#timer = setTimeout(() => this.#pump(), Math.max(0, next - now));
      this.#timer.unref?.();
    }
  }

  #start(job: OutboxJob, index: number, key: string): void {
    const { domain } = job.parts[index]!;
    this.#perDomain.set(domain, (this.#perDomain.get(domain) ?? 0) + 1);
    const run = (async () => {
      const wait = (await this.#rate?.(domain)) ?? 0;
      if (wait > 0) {
        this.#heldUntil.set(key, Date.now() + wait);
        return;
      }
      this.#heldUntil.delete(key);
      const outcome = await attemptPart(job, job.parts[index]!, this.#clientOf(job), this.#policy);
      // The job may have moved on meanwhile (callbacks made, other parts settled): merge.
      const current = this.#job(job.id);
      if (!current) return;
      const parts = current.parts.map((p, i) => (i === index ? outcome.part : p));
      const updated = { ...current, parts, notices: [...current.notices, ...outcome.notices] };
      await this.#journal.update(updated);
      if (updated.notices.length > 0 || finished(updated)) this.#owing.add(job.id);
      debug(
        '%s %s: attempt %d, %s',
        job.id,
        domain,
        outcome.part.attempts,
        outcome.part.done ? 'done' : 'waiting',
      );
    })()
      .catch((error: Error) => {
        // Our own failure (the journal not written, clientFor throwing): the attempt is made
        // again after the backoff, not at once (it would spin, and resend to the peer).
        const part = this.#job(job.id)?.parts[index];
        this.#heldUntil.set(key, Date.now() + backoff((part?.attempts ?? 0) + 1, this.#policy));
        this.#logger.error?.('iSchedule outbox: attempt not recorded; it will be made again', {
          id: job.id,
          error: error.message,
        });
      })
      .finally(() => {
        this.#running.delete(key);
        this.#perDomain.set(domain, (this.#perDomain.get(domain) ?? 1) - 1);
        this.#pump();
      });
    this.#running.set(key, run);
  }

  /** Makes the callbacks a job owes, in order; stops at the first that throws and tries later. */
  async #notify(id: string): Promise<void> {
    this.#notifying.add(id);
    try {
      const job = this.#job(id);
      if (!job) {
        this.#owing.delete(id);
        return;
      }
      const made = new Set<Notice>();
      let failed = false;
      for (const notice of job.notices) {
        try {
          await makeCallback(this.#options, notice, job);
          made.add(notice);
        } catch (error) {
          failed = true;
          const attempt = (this.#noticeRetryAt.has(id) ? 2 : 1) * NOTICE_RETRY_MS;
          this.#noticeRetryAt.set(id, Date.now() + attempt);
          this.#logger.warn?.('iSchedule outbox: a callback failed; it will be called again', {
            id,
            callback: notice.kind === 'status' ? 'onStatus' : 'onFallback',
            error: (error as Error).message,
          });
          break;
        }
      }
      if (!failed) this.#noticeRetryAt.delete(id);
      const current = this.#job(id);
      if (!current) return;
      const after = { ...current, notices: current.notices.filter((n) => !made.has(n)) };
      if (finished(after)) {
        this.#owing.delete(id);
        await this.#journal.remove(id);
      } else {
        if (after.notices.length === 0) this.#owing.delete(id);
        if (made.size > 0) await this.#journal.update(after);
      }
    } catch (error) {
      this.#logger.error?.('iSchedule outbox: callbacks not recorded', {
        id,
        error: (error as Error).message,
      });
    } finally {
      this.#notifying.delete(id);
      this.#pump();
    }
  }
}

/** Makes the callback a notice owes (both engines), with the message it belongs to. */
export async function makeCallback(
  callbacks: Pick<OutboxOptions, 'onStatus' | 'onFallback'>,
  notice: Notice,
  message: Pick<OutboxJob, 'id' | 'uid' | 'originator' | 'calendar'>,
): Promise<void> {
  const update: StatusUpdate = {
    ...notice.status,
    jobId: message.id,
    uid: message.uid,
    originator: message.originator,
  };
  if (notice.kind === 'status') await callbacks.onStatus?.(update);
  else await callbacks.onFallback?.({ ...update, reason: notice.reason, calendar: message.calendar });
}
