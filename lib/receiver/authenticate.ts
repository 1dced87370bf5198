/**
 * Who sent this: the DKIM signature, the signing domain against the Originator (alignment and
 * local policy), and replay refusal. Nothing is parsed as iCalendar before these pass.
 */
import { type HeaderList, headerValues } from '../dkim/canonicalize.js';
import type { KeyResolver } from '../dkim/resolvers.js';
import { type VerifiedRequest, verifyRequest } from '../dkim/verify.js';
import { IScheduleError, VerificationError } from '../errors.js';
import { addressDomain, withinDomain } from '../itip/address.js';
import type { ResolvedOptions } from './options.js';
import type { ReplayStore } from './replay-store.js';

type Policy = ResolvedOptions<unknown>['policy'];

/** Verifies the DKIM signature; a signature without `x=` gets the policy's maximum age. */
export async function verifySignature(
  headers: HeaderList,
  body: Buffer,
  keys: KeyResolver,
  policy: Policy,
  now: number,
): Promise<VerifiedRequest & { readonly expiresAt: number }> {
  const verified = await verifyRequest({
    headers,
    body,
    keys,
    now,
    clockSkew: policy.clockSkew,
    allowSha1: policy.allowSha1,
  });
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
 * Refuses a signature (or a signing domain's iSchedule-Message-ID, when signed) seen before and
 * not yet expired. Both are remembered until the signature expires.
 */
export async function checkReplay(
  verified: VerifiedRequest & { readonly expiresAt: number },
  headers: HeaderList,
  store: ReplayStore,
): Promise<void> {
  // 256 bits of the signature identify it; shorter keys keep a busy store cheap.
  const keys = [`b:${verified.signature.slice(0, 43)}`];
  const messageIdSigned = verified.signedHeaders.some((h) => h.toLowerCase() === 'ischedule-message-id');
  const messageId = headerValues(headers, 'iSchedule-Message-ID')[0]?.trim();
  if (messageIdSigned && messageId) keys.push(`id:${verified.domain}:${messageId}`);
  const expiresAt = verified.expiresAt * 1000;
  for (const key of keys) {
    if (!(await store.remember(key, expiresAt))) {
      throw new VerificationError(
        'replayed',
        key.startsWith('id:')
          ? `iSchedule-Message-ID ${messageId} from ${verified.domain} was already received (replay refused)`
          : 'this signature was already used (replay refused)',
      );
    }
  }
}
