/**
 * The port for remembering signatures until they expire, so that a captured request cannot be
 * delivered twice (the draft has no replay defence of its own; §6 of the spec digest), and each
 * recipient of a retried message is delivered once. Implementations live in ../stores/.
 */

import { ExpressIScheduleError } from '../errors.js';

/** Who a remembered key belongs to: a full store sheds the largest holders, not everyone. */
export interface ReplayContext {
  /** The signing domain (`d=`). */
  readonly domain: string;
}

/**
 * A Store in the express-rate-limit style: methods may answer synchronously or with a promise,
 * so a shared store (Redis, a database) fits as well as the in-memory default.
 */
export interface ReplayStore {
  /**
   * Records `key` until `expiresAt` (milliseconds since the epoch). Answers `true` when the key
   * was new, `false` when it was already recorded and has not expired: a replay. Must be atomic.
   * May throw (a ReplayStoreFullError, or any error when the store cannot answer): the receiver
   * then answers 503 and delivers nothing.
   */
  remember(key: string, expiresAt: number, context?: ReplayContext): boolean | Promise<boolean>;
  /**
   * Optional, for exactly-once delivery when a sender retries a message (the same signed
   * iSchedule-Message-ID under a fresh signature): holds `key` (one recipient of one message)
   * for this request until `holdUntil`, unless it is held or settled already. Must be atomic.
   */
  claim?(key: string, holdUntil: number, context?: ReplayContext): RecipientRecord | Promise<RecipientRecord>;
  /**
   * Records the outcome of a held key until `expiresAt`; `undefined` releases it (a temporary
   * failure, so that a retry delivers again).
   */
  settle?(key: string, outcome: RecordedOutcome | undefined, expiresAt: number): void | Promise<void>;
}

/** A recipient's answer as remembered for retries of the same message. */
export interface RecordedOutcome {
  readonly requestStatus: string;
  readonly description?: string;
}

/**
 * What claim found: `held` (this request delivers), or not held with the outcome recorded
 * earlier, or without one while another request is delivering it.
 */
export type RecipientRecord =
  | { readonly held: true }
  | { readonly held: false; readonly outcome?: RecordedOutcome };

/** The store cannot take this key now; `retryAfter` seconds from now it will have room. */
export class ReplayStoreFullError extends ExpressIScheduleError<'replay-store-full'> {
  override name = 'ReplayStoreFullError';
  readonly retryAfter: number;
  /** The registrable domain whose share was shed. */
  readonly group: string;
  constructor(message: string, retryAfter: number, group: string) {
    super('replay-store-full', message);
    this.retryAfter = retryAfter;
    this.group = group;
  }
}
