/**
 * Who sent this: the DKIM signature, the signing domain against the Originator (alignment and
 * local policy), and replay refusal. Nothing is parsed as iCalendar before these pass.
 */
import { LazyAbortController } from '../concurrency.js';
import type { KeyResolver } from '../dkim/resolvers.js';
import { KeyLookupDeadline, type VerifiedRequest, verifyWith } from '../dkim/verify.js';
import { IScheduleError, VerificationError } from '../errors.js';
import { type HeaderList, headerValues, isHeaderNamed } from '../http/headers.js';
import { addressDomain, withinDomain } from '../itip/address.js';
import { printable } from '../text.js';
import { type ReplayStore, ReplayStoreFullError } from './replay-store.js';
import type { ResolvedOptions } from './resolve-options.js';

type Policy = ResolvedOptions<unknown>['policy'];

/**
 * Verifies the DKIM signature within the policy's lifetime bounds; a signature without `x=`
 * expires the policy's maximum age after `t=`.
 */
export async function verifySignature(
  headers: HeaderList,
  body: Buffer,
  keys: KeyResolver,
  options: Pick<ResolvedOptions<unknown>, 'policy' | 'limits' | 'draft01Peers'>,
  now: number,
  cancel: LazyAbortController = new LazyAbortController(),
): Promise<VerifiedRequest & { readonly expiresAt: number }> {
  const { policy } = options;
  // The request's own controller carries the key lookup's deadline: no second one to link. Its
  // timer starts only when a key must be waited for (a cached key needs none).
  const timeout = options.limits.keyLookupTimeout;
  let deadline: NodeJS.Timeout | undefined;
  const signal = () => {
    deadline ??= setTimeout(() => cancel.abort(new KeyLookupDeadline(timeout)), timeout);
    return cancel.signal;
  };
  let verified: VerifiedRequest;
  try {
    verified = await verifyWith(
      {
        headers,
        body,
        keys,
        now,
        clockSkew: policy.clockSkew,
        allowSha1: policy.allowSha1,
        requireTimestamp: policy.requireTimestamp,
        maxLifetime: policy.maxSignatureAge,
        keyLookupTimeout: Number.POSITIVE_INFINITY,
        ...(options.draft01Peers.length > 0 && { draft01Peers: options.draft01Peers }),
      },
      signal,
      true,
    );
  } finally {
    clearTimeout(deadline);
  }
  const expiresAt = verified.expiresAt ?? (verified.signedAt ?? now) + policy.maxSignatureAge;
  if (expiresAt < now) {
    throw new VerificationError(
      'expired',
      `the signature has no x= and is older than ${policy.maxSignatureAge} s`,
    );
  }
  return { ...verified, expiresAt };
}

/** The signing domain may speak for the Originator, and policy lets this sender in. */
export function checkSender(
  verified: VerifiedRequest,
  originator: string,
  domains: readonly string[],
  policy: Policy,
): void {
  const originatorDomain = addressDomain(originator);
  if (
    originatorDomain &&
    !policy.allowLocalOriginators &&
    domains.some((d) => withinDomain(originatorDomain, d))
  ) {
    throw new IScheduleError(
      'originator-denied',
      `the Originator ${originator} claims to be a user of this server`,
    );
  }
  if (policy.alignment !== 'off') {
    if (!originatorDomain) {
      throw new IScheduleError(
        'originator-denied',
        `cannot check that d=${verified.domain} may speak for ${originator}: not a mailto address`,
      );
    }
    const aligned =
      policy.alignment === 'strict'
        ? originatorDomain === verified.domain
        : withinDomain(originatorDomain, verified.domain) && verified.domain.includes('.');
    if (!aligned) {
      throw new IScheduleError(
        'originator-denied',
        `the request is signed by d=${verified.domain}, which may not speak for ${originator} (domain alignment)`,
      );
    }
  }
  if (policy.denyDomains.some((d) => withinDomain(verified.domain, d))) {
    throw new IScheduleError('originator-denied', `requests signed by ${verified.domain} are refused here`);
  }
  if (policy.allowDomains && !policy.allowDomains.some((d) => withinDomain(verified.domain, d))) {
    throw new IScheduleError(
      'originator-denied',
      `${verified.domain} is not among the domains this receiver accepts`,
    );
  }
}

/**
 * Where a retried message's recipients are remembered (see deliverToRecipients): the signing
 * domain and the signed iSchedule-Message-ID, and how long the message may be retried.
 */
export interface MessageIdentity {
  readonly key: string;
  readonly domain: string;
  readonly expiresAt: number;
}

/**
 * Refuses a signature seen before. With a store that remembers recipients (claim/settle), a
 * message retried under a fresh signature passes here and is answered per recipient: its
 * identity comes back for that. With any other store, a second request with the same signed
 * iSchedule-Message-ID is refused as a replay. Run last before delivery, so that only requests
 * that passed every other check take room in the store.
 */
export async function checkReplay(
  verified: VerifiedRequest & { readonly expiresAt: number },
  headers: HeaderList,
  store: ReplayStore,
): Promise<MessageIdentity | undefined> {
  const messageIdSigned = verified.signedHeaders.some((h) => isHeaderNamed(h, 'ischedule-message-id'));
  const messageId = messageIdSigned ? headerValues(headers, 'iSchedule-Message-ID')[0]?.trim() : undefined;
  const perRecipient = messageId !== undefined && store.claim !== undefined && store.settle !== undefined;
  // 256 bits of the signature identify it; shorter keys keep a busy store cheap.
  const messageKey = `id:${verified.domain}:${messageId}`;
  const key = messageId && !perRecipient ? messageKey : `b:${verified.signature.slice(0, 43)}`;
  let fresh: boolean;
  try {
    fresh = await store.remember(key, verified.expiresAt * 1000, { domain: verified.domain });
  } catch (error) {
    throw storeFailure(error);
  }
  if (!fresh) {
    throw new VerificationError(
      'replayed',
      messageId && !perRecipient
        ? `iSchedule-Message-ID ${printable(messageId)} from ${verified.domain} was already received (replay refused)`
        : 'this signature was already used (replay refused)',
    );
  }
  return perRecipient
    ? {
        key: messageKey,
        domain: verified.domain,
        expiresAt: verified.expiresAt * 1000,
      }
    : undefined;
}

/** Nothing is delivered without its replay check: a store that cannot answer is a 503. */
function storeFailure(error: unknown): IScheduleError {
  if (error instanceof ReplayStoreFullError) {
    return new IScheduleError('service-unavailable', error.message, 503, {
      retryAfter: error.retryAfter,
      detail: `replay store full; shedding ${error.group}`,
    });
  }
  return new IScheduleError(
    'service-unavailable',
    'the receiver cannot check this request for replay now; try again later',
    503,
    {
      retryAfter: 5,
      detail: `replay store failed: ${error instanceof Error ? error.message : String(error)}`,
    },
  );
}
