/**
 * What a receiver's answer means for each recipient: per-recipient statuses from an
 * `IS:schedule-response`, or one failure for the whole batch from an `IS:error` or a non-2xx.
 */
import { type HttpResponse, retryAfterSeconds } from '../http/request.js';
import { normalizeAddress } from '../itip/address.js';
import { printable } from '../text.js';
import { parseError, parseScheduleResponse, type RecipientResponse } from '../xml/response.js';

/**
 * What a host can act on: `delivered` (1.x and 2.x: Apple answers 1.2), `refused` (a permanent
 * failure: do not retry as is), `temporary-failure` (5.1, network, timeouts: retry later),
 * `no-receiver` (the domain has no iSchedule service: fall back to iMIP).
 */
export type Outcome = 'delivered' | 'refused' | 'temporary-failure' | 'no-receiver';

/** What happened to one recipient of IScheduleClient.send. */
export interface RecipientResult {
  readonly recipient: string;
  /** The iTIP REQUEST-STATUS, e.g. `2.0;Success`. */
  readonly requestStatus: string;
  /** Its code, e.g. `2.0`. */
  readonly code: string;
  readonly outcome: Outcome;
  readonly description?: string;
  /** The receiver's error element, when it gave one (e.g. `verification-failed`). */
  readonly error?: string;
  /** Calendar data returned (a VFREEBUSY REPLY for free-busy requests), with CRLF line ends. */
  readonly calendarData?: string;
  /** The receiver URL that answered. */
  readonly receiver?: string;
  /** Seconds the receiver asked senders to wait (Retry-After on a 503 or 429). */
  readonly retryAfter?: number;
}

export function failure(
  recipient: string,
  outcome: Outcome,
  requestStatus: string,
  description: string,
  receiver?: URL,
  error?: string,
): RecipientResult {
  return {
    recipient,
    requestStatus,
    code: codeOf(requestStatus),
    outcome,
    description,
    ...(error && { error }),
    ...(receiver && { receiver: receiver.href }),
  };
}

/**
 * One result per recipient of a batch. `draft01`: the receiver speaks draft -01 (DAViCal), whose
 * 500s answer a message it cannot take (a recipient missing from the event, a CANCEL without
 * DTSTART), not a passing trouble: they are refusals, not worth a retry.
 */
export function resultsFromResponse(
  batch: readonly string[],
  response: HttpResponse,
  url: URL,
  draft01 = false,
): RecipientResult[] {
  const text = response.body.toString('utf8');
  if (response.status >= 200 && response.status < 300) {
    let responses: RecipientResponse[];
    try {
      responses = parseScheduleResponse(text, batch.length);
    } catch (error) {
      return batch.map((r) =>
        failure(
          r,
          'temporary-failure',
          '5.1;Service unavailable',
          `unreadable schedule-response: ${(error as Error).message}`,
          url,
        ),
      );
    }
    const byAddress = new Map(responses.map((r) => [normalizeAddress(r.recipient), r]));
    return batch.map((recipient) => {
      const answer = byAddress.get(normalizeAddress(recipient));
      if (!answer)
        return failure(
          recipient,
          'temporary-failure',
          '5.1;Service unavailable',
          'the receiver did not answer for this recipient',
          url,
        );
      return fromAnswer(recipient, answer, url);
    });
  }
  let code: string | undefined;
  let description = `HTTP ${response.status}`;
  try {
    const error = parseError(text);
    code = error.code;
    description = error.description ? `${error.code}: ${error.description}` : error.code;
  } catch {
    // Not an IS:error (DAViCal's and EGroupware's text/plain, proxies): its first line, if any.
    const line = plainTextLine(response, text);
    if (line) description = `HTTP ${response.status}: ${line}`;
  }
  const temporary =
    (response.status >= 500 && !(draft01 && response.status === 500)) ||
    response.status === 429 ||
    response.status === 408;
  const wait = temporary ? retryAfterSeconds(response) : undefined;
  return batch.map((r) =>
    temporary
      ? {
          ...failure(r, 'temporary-failure', '5.1;Service unavailable', description, url, code),
          ...(wait !== undefined && { retryAfter: wait }),
        }
      : failure(r, 'refused', '5.2;Invalid calendar service', description, url, code),
  );
}

function fromAnswer(recipient: string, answer: RecipientResponse, url: URL): RecipientResult {
  const code = codeOf(answer.requestStatus);
  const major = code.split('.')[0];
  const outcome: Outcome =
    major === '1' || major === '2' ? 'delivered' : code === '5.1' ? 'temporary-failure' : 'refused';
  return {
    recipient,
    requestStatus: answer.requestStatus,
    code,
    outcome,
    receiver: url.href,
    ...(answer.description && { description: answer.description }),
    ...(answer.error && { error: answer.error }),
    ...(answer.calendarData !== undefined && { calendarData: answer.calendarData.replace(/\r?\n/g, '\r\n') }),
  };
}

/** The first line of a text/plain answer, printable and short: what the receiver said, for a log. */
function plainTextLine(response: HttpResponse, text: string): string | undefined {
  if (!/^text\/plain\b/i.test(response.headers['content-type'] ?? '')) return undefined;
  const line = text
    .split(/\r?\n/)
    .find((l) => l.trim() !== '')
    ?.trim();
  return line ? printable(line, 200) : undefined;
}

function codeOf(status: string): string {
  return /^\s*(\d+\.\d+(?:\.\d+)?)/.exec(status)?.[1] ?? '5.1';
}
