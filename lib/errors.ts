/**
 * The package's errors: one family under ExpressIScheduleError, each with a stable `code`.
 *
 * - IScheduleError (and VerificationError): a refusal in iSchedule's terms; `code` is the
 *   `IS:error` element and `status` the HTTP status a receiver answers with.
 * - OptionsError (and ConfigError): a host's options or config file are wrong (at startup).
 * - SetupError: a host's setup is wrong in a way found only at run time (no signing key for an
 *   Originator's domain, a body parser mounted before the receiver).
 * - What another server did, or failed to do, each from its own module: HttpError, DnsError,
 *   RedirectError, CapabilitiesError, KeyLookupError, XmlError, TagListError.
 */

import type { HttpErrorCode } from './http/request.js';

/** Every `code` an ExpressIScheduleError may carry. */
export type ErrorCode =
  | IScheduleErrorCode
  | 'invalid-options'
  | SetupErrorCode
  /** HttpError: an HTTP exchange with another server failed. */
  | HttpErrorCode
  /** DnsError: `dns-timeout`, `dns-network`, `dns-malformed`, `dns-servfail`, `dns-refused`, ... */
  | `dns-${string}`
  | 'redirect-refused'
  | 'capabilities-unusable'
  | 'key-lookup-failed'
  | 'key-lookup-busy'
  | 'malformed-xml'
  | 'malformed-tag-list'
  | 'replay-store-full'
  | 'busy'
  | 'command-failed'
  /** DavError: the CalDAV server behind the gateway answered what the gateway cannot use. */
  | 'caldav';

/** The root of every error the package throws. */
export class ExpressIScheduleError<Code extends ErrorCode = ErrorCode> extends Error {
  override name = 'ExpressIScheduleError';
  /** Stable and machine-readable; the message is for people and may change. */
  readonly code: Code;
  /**
   * What only the log may see: addresses resolved, remote error text, fetched content. Never
   * sent to a peer, whose description says what failed in our own words.
   */
  readonly detail?: string;

  constructor(code: Code, message: string, detail?: string) {
    super(message);
    this.code = code;
    if (detail !== undefined) this.detail = detail;
  }
}

/** The codes of SetupError. */
export type SetupErrorCode =
  /** IScheduleClient.send for an Originator no signing key covers. */
  | 'no-signing-key'
  /** A body parser ran before the receiver: the exact octets the signature covers are gone. */
  | 'body-consumed'
  /** A Redis store without its URL or client, or without the ioredis package. */
  | 'no-redis'
  /** An outbox directory another running process holds. */
  | 'outbox-locked';

/** A host's setup mistake found at run time: never a peer's fault, never sent to one as theirs. */
export class SetupError extends ExpressIScheduleError<SetupErrorCode> {
  override name = 'SetupError';
}

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

/** What an IScheduleError carries besides its code and description. */
export interface IScheduleErrorDetails {
  /**
   * What only the log may see: addresses resolved, remote error text, fetched content. Never
   * sent to the peer, whose description says what failed in our own words.
   */
  readonly detail?: string;
  /** Seconds after which a retry may succeed (sent as Retry-After with a 503). */
  readonly retryAfter?: number;
  /** The limit that refused the request, when one did (for logs and metrics). */
  readonly limit?: RefusingLimit;
}

/** The receiver's limits that answer 503: rateLimits.perAddress/perDomain, limits.maxConcurrentPerDomain. */
export type RefusingLimit = 'perAddress' | 'perDomain' | 'concurrency';

/** A refusal in iSchedule's terms: the router answers it as an `IS:error` with `status`. */
export class IScheduleError extends ExpressIScheduleError<IScheduleErrorCode> {
  override name = 'IScheduleError';
  /** The HTTP status a receiver answers with. */
  readonly status: number;
  readonly retryAfter?: number;
  /** The limit that refused the request, when one did. */
  readonly limit?: RefusingLimit;

  constructor(
    code: IScheduleErrorCode,
    description: string,
    status = defaultStatus(code),
    details: IScheduleErrorDetails = {},
  ) {
    super(code, description, details.detail);
    this.status = status;
    if (details.retryAfter !== undefined) this.retryAfter = details.retryAfter;
    if (details.limit !== undefined) this.limit = details.limit;
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
export class OptionsError extends ExpressIScheduleError<'invalid-options'> {
  override name = 'OptionsError';
  readonly path: string;

  constructor(message: string, path: string) {
    super('invalid-options', message);
    this.path = path;
  }
}
