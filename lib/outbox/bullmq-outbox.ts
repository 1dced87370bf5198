/**
 * The distributed outbox: BullMQ on Redis (the same Redis as the replay store), any number of
 * processes on any number of hosts draining one queue. One BullMQ job per part (a message's
 * recipients at one domain); the attempt, the retry policy and the callbacks are the embedded
 * engine's (./attempt.ts). Order per UID and domain comes from a Redis list per lane: a part
 * goes only when it heads its lane, and leaves the lane once every recipient is answered.
 * BullMQ and ioredis are optional peer dependencies, loaded only when this engine is opened.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Job, Queue, Worker } from 'bullmq';
import createDebug from 'debug';
import * as v from 'valibot';
import { OptionsError, SetupError } from '../errors.js';
import { addressDomain } from '../itip/address.js';
import type { Logger } from '../receiver/options.js';
import type { RateLimit } from '../receiver/rate-limits.js';
import { rateLimit } from '../receiver/schema.js';
import { IScheduleClient, type SendOptions } from '../sender/client.js';
import { loadIoredis } from '../stores/redis-client.js';
import { checkOptions, fn, methods, positiveInteger, redisUrl, text } from '../validation.js';
import { attemptPart, backoff, DEFAULT_RETRY, type RetryPolicy } from './attempt.js';
import { type DomainRate, domainRate } from './domain-rate.js';
import {
  type Notice,
  newJob,
  type OutboxJob,
  type OutboxMessage,
  type OutboxPart,
  partStatuses,
  type ReceiverRoute,
} from './job.js';
import {
  type EnqueueOptions,
  type FallbackRequest,
  makeCallback,
  type Outbox,
  type OutboxJobView,
  retrySchema,
  type StatusUpdate,
} from './outbox.js';

const debug = createDebug('ischedule:outbox:bullmq');

export interface BullmqOutboxOptions {
  /** The client that sends (its signing keys, DNS, TLS and overrides). */
  readonly client: IScheduleClient;
  /** `redis://[:password@]host:port/db`; BullMQ wants its own connections, made from it. */
  readonly redis: string;
  /** Queue name (default `ischedule-outbox`); every process of one outbox uses the same. */
  readonly queue?: string;
  /** Prefix of every key (default `ischedule`). */
  readonly prefix?: string;
  readonly onStatus?: (update: StatusUpdate) => unknown;
  readonly onFallback?: (request: FallbackRequest) => unknown;
  /** The client for a message that names its receiver (as for IScheduleOutbox). */
  readonly clientFor?: (receiver: ReceiverRoute, domains: readonly string[]) => IScheduleClient;
  readonly retry?: RetryPolicy;
  /** Attempts this process runs at once (default 16). */
  readonly concurrency?: number;
  /** Attempts per recipient domain per `duration` seconds, counted in Redis for all processes. */
  readonly perDomainRate?: RateLimit;
  /** Deliver in this process (default true); false to only enqueue and list. */
  readonly work?: boolean;
  /**
   * Milliseconds a worker holds a job before another may take it over (BullMQ lockDuration,
   * default 30000): a crashed worker's attempts resume after about this long.
   */
  readonly lockDuration?: number;
  readonly logger?: Logger;
}

const optionsSchema = v.strictObject(
  {
    client: v.instance(IScheduleClient, 'an IScheduleClient'),
    redis: redisUrl,
    queue: v.optional(text()),
    prefix: v.optional(text()),
    onStatus: v.optional(fn('a function')),
    onFallback: v.optional(fn('a function')),
    clientFor: v.optional(fn('a function')),
    retry: v.optional(retrySchema),
    concurrency: v.optional(positiveInteger()),
    perDomainRate: v.optional(rateLimit),
    work: v.optional(v.boolean('true or false')),
    lockDuration: v.optional(positiveInteger('a positive integer (milliseconds)')),
    logger: v.optional(methods({}, 'a logger { info, warn, error }')),
  },
  'an options object',
);

/** What a BullMQ job carries: one part of a message, and the callbacks it still owes. */
interface PartData {
  readonly messageId: string;
  readonly uid: string;
  readonly originator: string;
  readonly calendar: string;
  readonly createdAt: number;
  readonly lane: string;
  readonly receiver?: ReceiverRoute;
  readonly part: OutboxPart;
  readonly notices: readonly Notice[];
}

interface RedisLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  disconnect(): void;
}

/** How long a part that does not head its lane waits before it looks again. */
const LANE_WAIT_MS = 1000;
const NOTICE_RETRY_MS = 5000;
const CLOSE_WAIT_MS = 5000;
const CANCEL_WAIT_MS = 60_000;
/** Pops `ARGV[1]` from its lane wherever it is; answers the new head. */
const LEAVE_LANE = `redis.call('LREM', KEYS[1], 1, ARGV[1])
return redis.call('LINDEX', KEYS[1], 0)`;

export class BullmqOutbox implements Outbox {
  readonly #options: BullmqOutboxOptions;
  readonly #policy: Required<RetryPolicy>;
  readonly #logger: Logger;
  readonly #redis: RedisLike;
  readonly #queue: Queue<PartData>;
  readonly #worker: Worker<PartData> | undefined;
  readonly #prefix: string;
  readonly #DelayedError: new () => Error;
  readonly #lifecycle: { closing: boolean };
  readonly #rate: DomainRate | undefined;

  private constructor(
    options: BullmqOutboxOptions,
    parts: {
      lifecycle: { closing: boolean };
      redis: RedisLike;
      queue: Queue<PartData>;
      worker?: Worker<PartData>;
      DelayedError: new () => Error;
    },
  ) {
    this.#lifecycle = parts.lifecycle;
    this.#rate = options.perDomainRate && domainRate(options.perDomainRate, parts.redis);
    this.#options = options;
    this.#policy = { ...DEFAULT_RETRY, ...options.retry };
    this.#logger = options.logger ?? {};
    this.#redis = parts.redis;
    this.#queue = parts.queue;
    this.#worker = parts.worker;
    this.#prefix = options.prefix ?? 'ischedule';
    this.#DelayedError = parts.DelayedError;
  }

  static async open(options: BullmqOutboxOptions): Promise<BullmqOutbox> {
    checkOptions(optionsSchema, options, 'BullmqOutbox options');
    const missing = 'the BullMQ outbox needs the bullmq and ioredis packages: npm install bullmq ioredis';
    const Redis = loadIoredis<new (url: string, options: Record<string, unknown>) => RedisLike>(missing);
    let bullmq: typeof import('bullmq');
    try {
      bullmq = createRequire(import.meta.url)('bullmq') as typeof import('bullmq');
    } catch {
      throw new SetupError('no-redis', missing);
    }
    // BullMQ's connections must wait for Redis rather than fail a command (its own rule); they
    // stop reconnecting once the outbox closes (BullMQ's duplicates share this strategy).
    const lifecycle = { closing: false };
    const connection = new Redis(options.redis, {
      maxRetriesPerRequest: null,
      retryStrategy: (attempt: number) => (lifecycle.closing ? null : Math.min(attempt * 200, 2000)),
    }) as never;
    const name = options.queue ?? 'ischedule-outbox';
    const prefix = options.prefix ?? 'ischedule';
    const queue = new bullmq.Queue<PartData>(name, { connection, prefix });
    const policy = { ...DEFAULT_RETRY, ...options.retry };
    let outbox: BullmqOutbox | undefined;
    const worker =
      options.work === false
        ? undefined
        : new bullmq.Worker<PartData>(name, (job, token) => outbox!.#process(job, token), {
            connection,
            prefix,
            concurrency: options.concurrency ?? 16,
            lockDuration: options.lockDuration ?? 30_000,
            stalledInterval: Math.min(30_000, options.lockDuration ?? 30_000),
            // A crash is not the message's fault: it resumes however often its worker died.
            maxStalledCount: 1000,
            // Nor is our own failure (Redis, clientFor): the part is tried again after the backoff.
            settings: { backoffStrategy: (attemptsMade: number) => backoff(attemptsMade, policy) },
            autorun: false,
          });
    outbox = new BullmqOutbox(options, {
      lifecycle,
      redis: connection,
      queue,
      ...(worker && { worker }),
      DelayedError: bullmq.DelayedError,
    });
    // Redis away: said once per outage, not once per reconnection.
    let down = false;
    const failing = (error: Error) => {
      if (down) return;
      down = true;
      outbox.#logger.warn?.('iSchedule outbox: Redis unreachable; deliveries wait until it is back', {
        error: error.message,
      });
    };
    queue.on('error', failing);
    worker?.on('error', failing);
    worker?.on('failed', (job, error) =>
      outbox.#logger.error?.('iSchedule outbox: attempt not recorded; it will be made again', {
        id: job?.data.messageId,
        error: error.message,
      }),
    );
    (connection as unknown as { on(event: 'ready', listener: () => void): void }).on('ready', () => {
      if (down) outbox.#logger.info?.('iSchedule outbox: Redis reachable again');
      down = false;
    });
    if (worker) void worker.run();
    await queue.waitUntilReady();
    return outbox;
  }

  /** Queues a message (one BullMQ job per recipient domain); its id once Redis has it. */
  async enqueue(message: OutboxMessage, options: EnqueueOptions = {}): Promise<string> {
    if (message.receiver && !this.#options.clientFor)
      throw new OptionsError('a message naming its receiver needs the outbox option clientFor', 'receiver');
    const domains = [...new Set(message.recipients.map((r) => addressDomain(r) ?? ''))];
    const { uid } = this.#clientOf(message.receiver, domains).check(message as SendOptions);
    const id = options.id ?? randomUUID();
    // A part already queued under this id is kept as it is (BullMQ ignores a second add).
    if (options.id !== undefined && (await this.#queue.getJob(`${id}-0`))) return id;
    const job = newJob(message, uid, 0, {
      id,
      ...(options.createdAt !== undefined && { now: options.createdAt }),
    });
    for (const [index, part] of job.parts.entries()) {
      const lane = `${this.#prefix}:outbox-lane:${createHash('sha256').update(uid).digest('base64url')}:${part.domain}`;
      const jobId = `${id}-${index}`;
      // In the lane first: a part added but not in its lane could overtake one queued before it.
      await this.#redis.call('RPUSH', lane, jobId);
      const data: PartData = {
        messageId: id,
        uid,
        originator: job.originator,
        calendar: job.calendar,
        createdAt: job.createdAt,
        lane,
        ...(message.receiver && { receiver: message.receiver }),
        part,
        notices: [],
      };
      await this.#queue.add('part', data, {
        jobId,
        removeOnComplete: true,
        removeOnFail: 1000,
        // A run that throws is ours to mend, never the message's end (see backoffStrategy).
        attempts: Number.MAX_SAFE_INTEGER,
        backoff: { type: 'custom' },
      });
    }
    debug('queued %s (%s) in %d parts', id, uid, job.parts.length);
    return id;
  }

  /** Messages not yet finished, with each recipient's last status. */
  async list(): Promise<OutboxJobView[]> {
    const jobs = await this.#unfinished();
    const byMessage = new Map<string, Array<{ job: Job<PartData>; state: string }>>();
    for (const job of jobs) {
      const state = await job.getState();
      byMessage.set(job.data.messageId, [...(byMessage.get(job.data.messageId) ?? []), { job, state }]);
    }
    return [...byMessage.values()]
      .map((parts) => {
        const first = parts[0]!.job.data;
        const waiting = parts.filter(({ job }) => !job.data.part.done);
        return {
          id: first.messageId,
          uid: first.uid,
          originator: first.originator,
          createdAt: new Date(first.createdAt),
          state: parts.some((p) => p.state === 'active')
            ? ('active' as const)
            : waiting.length > 0
              ? ('waiting' as const)
              : ('notifying' as const),
          attempts: Math.max(0, ...parts.map(({ job }) => job.data.part.attempts)),
          ...(waiting.length > 0 && {
            nextAttemptAt: new Date(Math.min(...waiting.map(({ job }) => job.data.part.nextAttemptAt))),
          }),
          recipients: parts.flatMap(({ job }) => partStatuses(job.data.part)),
        };
      })
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /** Makes a message's waiting parts due now; false when there is no such message. */
  async retry(id: string): Promise<boolean> {
    const parts = await this.#parts(id);
    for (const job of parts) {
      await job.updateData({ ...job.data, part: { ...job.data.part, nextAttemptAt: Date.now() } });
      if (await job.isDelayed()) await job.promote().catch(() => undefined);
    }
    return parts.length > 0;
  }

  /** Drops a message: no more attempts, no callbacks (a part in an attempt is let finish it). */
  async cancel(id: string): Promise<boolean> {
    const parts = await this.#parts(id);
    for (const job of parts) {
      // BullMQ cannot remove a job a worker holds; attempts are bounded by the client's timeout.
      for (let wait = 0; wait < CANCEL_WAIT_MS && (await job.getState()) === 'active'; wait += 100)
        await new Promise((resolve) => setTimeout(resolve, 100));
      await job.remove().catch(() => undefined);
      await this.#leaveLane(job);
    }
    if (parts.length > 0) this.#logger.info?.('iSchedule outbox job cancelled', { id });
    return parts.length > 0;
  }

  /**
   * Lets attempts in progress finish, then closes the connections; with Redis unreachable it
   * gives up waiting after `CLOSE_WAIT_MS` (a job it held resumes elsewhere after its lock).
   */
  async close(): Promise<void> {
    this.#lifecycle.closing = true;
    const graceful = (async () => {
      await this.#worker?.close();
      await this.#queue.close();
      return true;
    })();
    let timer: NodeJS.Timeout | undefined;
    const patience = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), CLOSE_WAIT_MS);
    });
    const closed = await Promise.race([graceful, patience]).finally(() => clearTimeout(timer));
    if (!closed) {
      // BullMQ's own disconnects wait for Redis too: start them, do not wait for them.
      void this.#worker?.close(true).catch(() => undefined);
      void this.#queue.disconnect().catch(() => undefined);
    }
    this.#redis.disconnect();
  }

  /** Parts not finished (the first 10,000: list, retry and cancel are for operators). */
  #unfinished(): Promise<Array<Job<PartData>>> {
    return this.#queue.getJobs(['active', 'waiting', 'delayed', 'prioritized'], 0, 10_000);
  }

  async #parts(id: string): Promise<Array<Job<PartData>>> {
    return (await this.#unfinished()).filter((job) => job.data.messageId === id);
  }

  async #leaveLane(job: Job<PartData>): Promise<void> {
    const head = (await this.#redis.call('EVAL', LEAVE_LANE, '1', job.data.lane, job.id!)) as string | null;
    // The next part of the lane is waiting out LANE_WAIT_MS: let it go now.
    if (head) await (await this.#queue.getJob(head))?.promote().catch(() => undefined);
  }

  /** Waits until `at` (BullMQ's way: move the job to delayed and say so). */
  async #delay(job: Job<PartData>, token: string | undefined, at: number): Promise<never> {
    await job.moveToDelayed(Math.max(at, Date.now() + 1), token);
    throw new this.#DelayedError();
  }

  async #process(job: Job<PartData>, token: string | undefined): Promise<void> {
    let data = job.data;
    if (!data.part.done) {
      const head = (await this.#redis.call('LINDEX', data.lane, '0')) as string | null;
      if (head !== null && head !== job.id) {
        if (await this.#queue.getJob(head)) return this.#delay(job, token, Date.now() + LANE_WAIT_MS);
        // A head with no job: its enqueue died between the lane and the queue. Step over it.
        await this.#redis.call('LREM', data.lane, '1', head);
        return this.#delay(job, token, Date.now());
      }
      if (data.part.nextAttemptAt > Date.now()) return this.#delay(job, token, data.part.nextAttemptAt);
      const wait = (await this.#rate?.(data.part.domain)) ?? 0;
      if (wait > 0) return this.#delay(job, token, Date.now() + wait);
      const message: OutboxJob = {
        id: data.messageId,
        seq: 0,
        createdAt: data.createdAt,
        originator: data.originator,
        calendar: data.calendar,
        uid: data.uid,
        parts: [data.part],
        notices: [],
      };
      const client = this.#clientOf(data.receiver, [data.part.domain]);
      const outcome = await attemptPart(message, data.part, client, this.#policy);
      data = { ...data, part: outcome.part, notices: [...data.notices, ...outcome.notices] };
      await job.updateData(data);
      debug('%s: attempt %d, %s', job.id, outcome.part.attempts, outcome.part.done ? 'done' : 'waiting');
      if (outcome.part.done) await this.#leaveLane(job);
    }
    const remaining = [...data.notices];
    while (remaining.length > 0) {
      const notice = remaining[0]!;
      try {
        await makeCallback(this.#options, notice, { ...data, id: data.messageId });
      } catch (error) {
        this.#logger.warn?.('iSchedule outbox: a callback failed; it will be called again', {
          id: data.messageId,
          error: (error as Error).message,
        });
        await job.updateData({ ...data, notices: remaining });
        return this.#delay(job, token, Date.now() + NOTICE_RETRY_MS);
      }
      remaining.shift();
    }
    if (data.notices.length > 0) await job.updateData({ ...data, notices: [] });
    if (!data.part.done) return this.#delay(job, token, data.part.nextAttemptAt);
  }

  #clientOf(receiver: ReceiverRoute | undefined, domains: readonly string[]): IScheduleClient {
    return receiver && this.#options.clientFor
      ? this.#options.clientFor(receiver, domains)
      : this.#options.client;
  }
}
