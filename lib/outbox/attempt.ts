/**
 * One attempt at one part of a job, the same for every engine: send the recipients not yet
 * answered with the job's Message-ID, then decide per recipient what is final, what waits, and
 * which callbacks are owed.
 */
import type { IScheduleClient } from '../sender/client.js';
import type { RecipientResult } from '../sender/results.js';
import { type Notice, type OutboxJob, type OutboxPart, PENDING_STATUS, type RecipientStatus } from './job.js';

/** When to try again (documented in the README; all milliseconds). */
export interface RetryPolicy {
  /** First wait after a temporary failure (default 10 s: within a signature's lifetime). */
  readonly initialDelay?: number;
  /** Longest wait between attempts (default 1 hour). */
  readonly maxDelay?: number;
  /** Age after which a message still not delivered fails for good (default 24 hours). */
  readonly maxAge?: number;
}

export const DEFAULT_RETRY = { initialDelay: 10_000, maxDelay: 3_600_000, maxAge: 86_400_000 } as const;

const GAVE_UP = '5.1;Service unavailable';

/** The part after one attempt, and the callbacks it makes owed. */
export interface AttemptOutcome {
  readonly part: OutboxPart;
  readonly notices: readonly Notice[];
}

export async function attemptPart(
  job: OutboxJob,
  part: OutboxPart,
  client: IScheduleClient,
  policy: Required<RetryPolicy>,
  now: () => number = Date.now,
): Promise<AttemptOutcome> {
  const open = part.recipients.filter((r) => !isFinal(part.statuses[r]));
  let results: readonly RecipientResult[];
  try {
    results = await client.send({
      originator: job.originator,
      recipients: open,
      calendar: job.calendar,
      messageId: job.id,
    });
  } catch (error) {
    // A message the client will not send was refused at enqueue; anything else (a key removed
    // from the configuration) may be mended, so it waits like any temporary failure.
    const description = `not sent: ${(error as Error).message}`;
    results = open.map((recipient) => ({
      recipient,
      requestStatus: GAVE_UP,
      code: '5.1',
      outcome: 'temporary-failure' as const,
      description,
    }));
  }
  return settle(job, part, results, policy, now());
}

/** Final states, callbacks owed, and when to come back: pure, for every engine. */
export function settle(
  job: OutboxJob,
  part: OutboxPart,
  results: readonly RecipientResult[],
  policy: Required<RetryPolicy>,
  now: number,
): AttemptOutcome {
  const attempts = part.attempts + 1;
  const statuses: Record<string, RecipientStatus> = { ...part.statuses };
  const notices: Notice[] = [];
  let retryAfter = 0;
  let waiting = false;
  const delay = backoff(attempts, policy);
  const expired = now + delay - job.createdAt > policy.maxAge;
  for (const result of results) {
    const previous = statuses[result.recipient];
    const description = result.description;
    const base = { recipient: result.recipient, ...(description && { description }) };
    if (result.outcome === 'delivered' || result.outcome === 'refused') {
      const status: RecipientStatus = {
        ...base,
        state: result.outcome === 'delivered' ? 'delivered' : 'failed',
        requestStatus: result.requestStatus,
      };
      statuses[result.recipient] = status;
      notices.push({ kind: 'status', status });
    } else if (result.outcome === 'no-receiver') {
      const status: RecipientStatus = { ...base, state: 'failed', requestStatus: result.requestStatus };
      statuses[result.recipient] = status;
      notices.push({ kind: 'status', status }, { kind: 'fallback', status, reason: 'no-receiver' });
    } else if (expired) {
      const status: RecipientStatus = { ...base, state: 'failed', requestStatus: GAVE_UP };
      statuses[result.recipient] = status;
      notices.push({ kind: 'status', status }, { kind: 'fallback', status, reason: 'gave-up' });
    } else {
      waiting = true;
      retryAfter = Math.max(retryAfter, (result.retryAfter ?? 0) * 1000);
      if (!previous) {
        const status: RecipientStatus = { ...base, state: 'pending', requestStatus: PENDING_STATUS };
        statuses[result.recipient] = status;
        notices.push({ kind: 'status', status });
      }
    }
  }
  return {
    part: {
      ...part,
      attempts,
      statuses,
      done: !waiting,
      nextAttemptAt: waiting ? now + Math.max(delay, retryAfter) : part.nextAttemptAt,
    },
    notices,
  };
}

function isFinal(status: RecipientStatus | undefined): boolean {
  return status !== undefined && status.state !== 'pending';
}

/** Exponential, with jitter (a half to the whole step), so that retries of a crowd spread out. */
export function backoff(attempts: number, policy: Required<RetryPolicy>): number {
  const step = Math.min(policy.maxDelay, policy.initialDelay * 2 ** Math.min(attempts - 1, 30));
  return Math.round(step * (0.5 + Math.random() / 2));
}
