/**
 * The POST pipeline: one named step after another, in the order of the spec digest's §9. Any
 * step may throw an IScheduleError, which becomes the `IS:error` answer; nothing is delivered
 * unless every step passed. The replay check comes last, so that a request refused for any
 * other reason takes no room in the replay store.
 */

import createDebug from 'debug';
import type { ConcurrencyLimit, LazyAbortController } from '../concurrency.js';
import { registrableDomain } from '../dns/names.js';
import { IScheduleError } from '../errors.js';
import { type HeaderList, headerPairs, headerValues } from '../http/headers.js';
import type { ParsedMessage } from '../itip/message.js';
import type { RecipientResponse } from '../xml/response.js';
import { checkReplay, checkSender, verifySignature } from './authenticate.js';
import { checkMessage, parseMessage } from './check-message.js';
import { deliverToRecipients } from './deliver.js';
import type { IncomingRequest } from './handler.js';
import { readBody } from './read-body.js';
import {
  asMailto,
  checkVersion,
  claimsDraft01,
  readContentType,
  readOriginator,
  readRecipients,
} from './request-headers.js';
import type { ResolvedOptions } from './resolve-options.js';

const debug = createDebug('ischedule:receiver:pipeline');

export async function handleSchedulingRequest<User>(
  req: IncomingRequest,
  options: ResolvedOptions<User>,
  /** Aborted when the client goes away; also carries the key lookup's deadline. */
  cancel?: LazyAbortController,
): Promise<RecipientResponse[]> {
  const { capabilities, policy } = options;
  const addressLimited = options.rateLimits.checkAddress(req);
  if (addressLimited) await addressLimited;
  const headers = headerPairs(req.rawHeaders);
  const body = await readBody(req, capabilities.maxContentLength, headers);
  checkVersion(headers);
  const contentType = readContentType(headers);
  const originator = readOriginator(headers);
  // A draft -01 peer may name its recipients without mailto: (answered as it named them).
  const draft01 = claimsDraft01(headers, options.draft01Peers);
  const named = readRecipients(headers, capabilities.maxRecipients, draft01);
  const recipients = draft01 ? named.map(asMailto) : named;

  const now = Math.floor(Date.now() / 1000);
  const started = options.metrics && performance.now();
  const verified = await verifySignature(headers, body, options.keys, options, now, cancel);
  if (started) options.metrics?.verification((performance.now() - started) / 1000);
  checkSender(verified, originator, options.domains, policy);
  const domainLimited = options.rateLimits.checkDomain(verified.domain);
  if (domainLimited) await domainLimited;

  // One peer cannot hold every place: its requests beyond the cap wait outside (503).
  const release = acquirePlace(options.concurrency, verified.domain, options.limits.maxConcurrentPerDomain);
  try {
    const message = parseMessage(body, contentType, options.limits);
    checkMessage(message, originator, recipients, options);
    const identity = policy.replayProtection
      ? await checkReplay(verified, headers, options.replayStore)
      : undefined;
    const delivered = await deliverToRecipients(
      { originator, recipients, message, request: req, identity },
      options,
    );
    const responses = draft01 ? delivered.map((r, i) => ({ ...r, recipient: named[i]! })) : delivered;
    audit(options, verified.domain, headers, originator, message, responses);
    return responses;
  } finally {
    release();
  }
}

function acquirePlace(limit: ConcurrencyLimit, domain: string, max: number): () => void {
  try {
    return limit.acquire(registrableDomain(domain) ?? domain);
  } catch {
    throw new IScheduleError(
      'service-unavailable',
      `too many requests from ${domain} at once (limits.maxConcurrentPerDomain is ${max}); retry shortly`,
      503,
      { retryAfter: 1, limit: 'concurrency', detail: 'limit concurrency' },
    );
  }
}

/** The audit trail: one line per accepted message, who sent it and what each recipient got; no body. */
function audit(
  options: ResolvedOptions<unknown>,
  domain: string,
  headers: HeaderList,
  originator: string,
  message: ParsedMessage,
  responses: readonly RecipientResponse[],
): void {
  // Nobody listening (no info logger, debug off): nothing to build.
  if (!options.logger.info && !debug.enabled) return;
  const messageId = headerValues(headers, 'iSchedule-Message-ID')[0];
  const recipients = responses.map((r) => `${r.recipient} ${r.requestStatus.split(';')[0]}`);
  debug(
    'accepted %s %s/%s from %s (%s): %s',
    messageId,
    message.component,
    message.method,
    domain,
    originator,
    recipients.join(', '),
  );
  options.logger.info?.('iSchedule message accepted', {
    domain,
    ...(messageId !== undefined && { messageId }),
    originator,
    method: message.method,
    component: message.component,
    uid: message.uid,
    recipients,
  });
}
