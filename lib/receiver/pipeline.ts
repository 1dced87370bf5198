/**
 * The POST pipeline: one named step after another, in the order of the spec digest's §9. Any
 * step may throw an IScheduleError, which becomes the `IS:error` answer; nothing is delivered
 * unless every step passed. The replay check comes last, so that a request refused for any
 * other reason takes no room in the replay store.
 */

import type { LazyAbortController } from '../concurrency.js';
import { headerPairs } from '../http/headers.js';
import type { RecipientResponse } from '../xml/response.js';
import { checkReplay, checkSender, verifySignature } from './authenticate.js';
import { checkMessage, parseMessage } from './check-message.js';
import { deliverToRecipients } from './deliver.js';
import type { IncomingRequest } from './handler.js';
import { readBody } from './read-body.js';
import { checkVersion, readContentType, readOriginator, readRecipients } from './request-headers.js';
import type { ResolvedOptions } from './resolve-options.js';

export async function handleSchedulingRequest<User>(
  req: IncomingRequest,
  options: ResolvedOptions<User>,
  /** Aborted when the client goes away; also carries the key lookup's deadline. */
  cancel?: LazyAbortController,
): Promise<RecipientResponse[]> {
  const { capabilities, policy } = options;
  const body = await readBody(req, capabilities.maxContentLength);
  const headers = headerPairs(req.rawHeaders);
  checkVersion(headers);
  const contentType = readContentType(headers);
  const originator = readOriginator(headers);
  const recipients = readRecipients(headers, capabilities.maxRecipients);

  const now = Math.floor(Date.now() / 1000);
  const verified = await verifySignature(headers, body, options.keys, options, now, cancel);
  checkSender(verified, originator, options.domains, policy);

  const message = parseMessage(body, contentType, options.limits);
  checkMessage(message, originator, recipients, options);
  const identity = policy.replayProtection
    ? await checkReplay(verified, headers, options.replayStore)
    : undefined;
  return deliverToRecipients({ originator, recipients, message, request: req, identity }, options);
}
