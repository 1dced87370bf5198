/** The iTIP message itself: parsed, matched to its Content-Type, and held to what we advertise. */
import { IScheduleError } from '../errors.js';
import { freeBusyRange } from '../itip/freebusy.js';
import { checkLimits } from '../itip/limits.js';
import { type ParsedMessage, parseMessageTree } from '../itip/message.js';
import { checkParticipants } from '../itip/rules.js';
import type { ContentType } from './request-headers.js';
import type { ResolvedOptions } from './resolve-options.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Parses the body; its component and METHOD must be what the Content-Type said. */
export function parseMessage(
  body: Buffer,
  contentType: ContentType,
  limits: ResolvedOptions<unknown>['limits'],
): ParsedMessage {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new IScheduleError('invalid-calendar-data', 'the body is not valid UTF-8');
  }
  const message = parseMessageTree(text, limits);
  if (!contentType.component || !contentType.method) {
    throw new IScheduleError(
      'invalid-scheduling-message',
      'Content-Type must carry the component and method parameters, e.g. text/calendar; component=VEVENT; method=REQUEST',
    );
  }
  if (contentType.component !== message.component || contentType.method !== message.method) {
    throw new IScheduleError(
      'invalid-scheduling-message',
      `Content-Type says ${contentType.component}/${contentType.method} but the body is ${message.component}/${message.method}`,
    );
  }
  return message;
}

/** The message is one we advertise, follows iTIP's Originator/Recipient rules and our limits. */
export function checkMessage(
  message: ParsedMessage,
  originator: string,
  recipients: readonly string[],
  { capabilities, limits }: Pick<ResolvedOptions<unknown>, 'capabilities' | 'limits'>,
): void {
  const methods = capabilities.schedulingMessages[message.component];
  if (!methods || (methods.length > 0 && !methods.includes(message.method))) {
    throw new IScheduleError(
      'invalid-scheduling-message',
      `${message.component} ${message.method} is not accepted here (see ?action=capabilities)`,
    );
  }
  checkParticipants(message, originator, recipients);
  checkLimits(message, capabilities);
  if (message.component === 'VFREEBUSY') checkFreeBusySpan(message, limits.maxFreeBusyDays);
}

/** Free-busy over decades costs the host dearly and answers with thousands of periods. */
function checkFreeBusySpan(message: ParsedMessage, maxDays: number): void {
  const { start, end } = freeBusyRange(message);
  const days = (end.getTime() - start.getTime()) / 86_400_000;
  if (days > maxDays) {
    throw new IScheduleError(
      'invalid-scheduling-message',
      `the free-busy request spans ${Math.ceil(days)} days; this receiver answers at most ${maxDays} days at a time`,
    );
  }
}
