/**
 * The one error class of the package. Every failure a peer or a host can act on carries the
 * iSchedule error element (`code`), the HTTP status a receiver answers with, and a description
 * written for an administrator, so the router maps any failure to an `IS:error` in one place.
 */

/** The error elements of draft-desruisseaux-ischedule-05 §4.2 (`IS:` namespace). */
export type IScheduleErrorCode =
  | 'version-not-supported'
  | 'invalid-calendar-data-type'
  | 'invalid-calendar-data'
  | 'invalid-scheduling-message'
  | 'verification-failed'
  | 'originator-missing'
  | 'too-many-originators'
  | 'originator-invalid'
  | 'originator-denied'
  | 'recipient-missing'
  | 'recipient-invalid'
  | 'recipient-mismatch'
  | 'max-recipients'
  | 'attachment-type-not-supported'
  | 'max-content-length'
  | 'min-date-time'
  | 'max-date-time'
  | 'max-instances'
  /** Not a draft element: an internal fault or an unavailable service, answered as 5xx. */
  | 'service-unavailable';

export interface IScheduleErrorDetails {
  /**
   * What only the log may see: addresses resolved, remote error text, fetched content. Never
   * sent to the peer, whose description says what failed in our own words.
   */
  readonly detail?: string;
  /** Seconds after which a retry may succeed (sent as Retry-After with a 503). */
  readonly retryAfter?: number;
}

export class IScheduleError extends Error {
  override name = 'IScheduleError';
  /** The iSchedule error element, e.g. `verification-failed`. */
  readonly code: IScheduleErrorCode;
  /** The HTTP status a receiver answers with. */
  readonly status: number;
  /** Internal detail for the log (see IScheduleErrorDetails). */
  readonly detail?: string;
  readonly retryAfter?: number;

  constructor(
    code: IScheduleErrorCode,
    description: string,
    status = defaultStatus(code),
    details: IScheduleErrorDetails = {},
  ) {
    super(description);
    this.code = code;
    this.status = status;
    if (details.detail !== undefined) this.detail = details.detail;
    if (details.retryAfter !== undefined) this.retryAfter = details.retryAfter;
  }

  /** The human-readable `response-description`. */
  get description(): string {
    return this.message;
  }
}

/** Why a DKIM verification failed: stable, machine-readable. */
export type VerificationFailure =
  | 'no-signature'
  | 'multiple-signatures'
  | 'malformed-signature'
  | 'missing-tag'
  | 'unsupported-version'
  | 'unsupported-algorithm'
  | 'unsupported-canonicalization'
  | 'unsupported-query-method'
  | 'required-header-unsigned'
  | 'duplicate-signed-header'
  | 'body-length-limit'
  | 'signed-in-future'
  | 'expired'
  /** `t=` is absent and the receiver requires it, or `x=` lies further after `t=` than allowed. */
  | 'missing-timestamp'
  | 'lifetime-too-long'
  | 'no-key'
  | 'key-revoked'
  | 'key-unusable'
  | 'key-lookup-failed'
  | 'body-hash-mismatch'
  | 'signature-mismatch'
  /** Set by the receiver, not by verifyRequest: a signature or message id seen before. */
  | 'replayed';

/** A DKIM verification failure: always the `verification-failed` element, with a precise reason. */
export class VerificationError extends IScheduleError {
  override name = 'VerificationError';
  readonly reason: VerificationFailure;

  constructor(reason: VerificationFailure, description: string, detail?: string) {
    super('verification-failed', description, 403, detail === undefined ? {} : { detail });
    this.reason = reason;
  }
}

/** Refusals are 403, everything malformed is 400, and our own faults are 5xx. */
function defaultStatus(code: IScheduleErrorCode): number {
  switch (code) {
    case 'verification-failed':
    case 'originator-denied':
      return 403;
    case 'service-unavailable':
      return 503;
    default:
      return 400;
  }
}

/**
 * A host's mistake in options or configuration, found when an object is built: never sent to a
 * peer. `path` names the first option at fault (`options.policy.clockSkew`).
 */
export class OptionsError extends TypeError {
  override name = 'OptionsError';
  readonly code = 'invalid-options';
  readonly path: string;

  constructor(message: string, path: string) {
    super(message);
    this.path = path;
  }
}
