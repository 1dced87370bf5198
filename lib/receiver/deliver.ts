/**
 * Per-recipient work once a request is accepted: no relaying (only our domains, only users the
 * host knows), free-busy computed or the message delivered, each recipient isolated from the
 * others' failures and bounded in time.
 */

import createDebug from 'debug';
import { LazyAbortController } from '../concurrency.js';
import { addressDomain, normalizeAddress, withinDomain } from '../itip/address.js';
import { buildFreeBusyReply, freeBusyRange } from '../itip/freebusy.js';
import type { ParsedMessage } from '../itip/message.js';
import { messageFacts, type ScheduleMessage } from '../itip/schedule-message.js';
import type { RecipientResponse } from '../xml/response.js';
import type { MessageIdentity } from './authenticate.js';
import type { IncomingRequest } from './handler.js';
import type { DeliveryResult } from './options.js';
import type { RecipientRecord } from './replay-store.js';
import type { ResolvedOptions } from './resolve-options.js';

const debug = createDebug('ischedule:receiver:deliver');

const REQUEST_STATUS = /^[1-5]\.\d{1,2}(?:\.\d{1,2})?;/;
const INVALID_USER = '3.7;Invalid calendar user';
const SERVICE_UNAVAILABLE = '5.1;Service unavailable';

export interface Delivery {
  readonly originator: string;
  readonly recipients: readonly string[];
  readonly message: ParsedMessage;
  readonly request: IncomingRequest;
  /** Set when recipients are remembered for retries of this message (see checkReplay). */
  readonly identity?: MessageIdentity | undefined;
}

/** One response per recipient, in the order and form received; each address handled once. */
export async function deliverToRecipients<User>(
  delivery: Delivery,
  options: ResolvedOptions<User>,
): Promise<RecipientResponse[]> {
  const outcomes = new Map<string, Promise<Omit<RecipientResponse, 'recipient'>>>();
  // Every adapter call sees the same frozen facts; the ical.js tree stays ours.
  const facts = messageFacts(delivery.message);
  // A free-busy answer is computed afresh for a retry; a delivery must happen once.
  const { identity } = delivery;
  const once = identity && delivery.message.component !== 'VFREEBUSY' ? identity : undefined;
  const pending = delivery.recipients.map((recipient) => {
    const key = normalizeAddress(recipient);
    let outcome = outcomes.get(key);
    if (!outcome) {
      outcome = once
        ? deliverOnce(
            `${once.key}:${key}`,
            once,
            () => deliverOne(recipient, delivery, facts, options),
            options,
          )
        : deliverOne(recipient, delivery, facts, options);
      outcomes.set(key, outcome);
    }
    return outcome;
  });
  const settled = await Promise.all(pending);
  return delivery.recipients.map((recipient, i) => ({ recipient, ...settled[i]! }));
}

/**
 * Exactly once per recipient of a message, however often its sender retries it: the first
 * request to claim the recipient delivers; later ones get the recorded outcome, or a 5.1 while
 * the first is still at work. A temporary failure is not recorded, so a retry delivers again.
 */
async function deliverOnce<User>(
  key: string,
  identity: MessageIdentity,
  deliver: () => Promise<Omit<RecipientResponse, 'recipient'>>,
  options: ResolvedOptions<User>,
): Promise<Omit<RecipientResponse, 'recipient'>> {
  const store = options.replayStore;
  // Long enough for lookupUser and deliverToInbox at their deadlines.
  const holdUntil = Date.now() + 2 * options.adapterTimeout + 5000;
  let record: RecipientRecord;
  try {
    record = await store.claim!(key, holdUntil, { domain: identity.domain });
  } catch (error) {
    options.logger.warn?.('iSchedule delivery record unavailable', { error: (error as Error).message });
    return {
      requestStatus: SERVICE_UNAVAILABLE,
      description: 'cannot check this message for earlier delivery now; try later',
    };
  }
  if (!record.held) {
    return record.outcome
      ? {
          ...record.outcome,
          description: `already received: ${record.outcome.description ?? record.outcome.requestStatus}`,
        }
      : {
          requestStatus: SERVICE_UNAVAILABLE,
          description: 'this message is being delivered by another request; try later',
        };
  }
  const outcome = await deliver();
  const temporary = outcome.requestStatus.startsWith('5.1');
  try {
    await store.settle!(key, temporary ? undefined : outcome, identity.expiresAt);
  } catch (error) {
    // Delivered, but unrecorded: a retry after holdUntil could deliver it again. Say so.
    options.logger.error?.('iSchedule delivery record not saved', { key, error: (error as Error).message });
  }
  return outcome;
}

async function deliverOne<User>(
  recipient: string,
  { originator, message, request }: Delivery,
  facts: ScheduleMessage,
  options: ResolvedOptions<User>,
): Promise<Omit<RecipientResponse, 'recipient'>> {
  const domain = addressDomain(recipient);
  if (!domain || !options.domains.some((d) => withinDomain(domain, d))) {
    return {
      requestStatus: INVALID_USER,
      description: 'not a user of this server (iSchedule does not relay)',
    };
  }
  const { adapter } = options;
  // One controller for this recipient's calls; each call still has its own deadline. Its signal
  // is made only if the adapter reads it: an AbortSignal costs microseconds, and an adapter
  // that answers at once never needs one.
  const controller = new LazyAbortController();
  // An adapter that answers at once is neither raced nor timed through another promise.
  const bounded = <T>(name: AdapterCallName, call: () => T | Promise<T>): T | Promise<T> =>
    options.metrics
      ? timed(name, options.metrics, () => callAdapter(name, options.adapterTimeout, controller, call))
      : callAdapter(name, options.adapterTimeout, controller, call);
  try {
    const user = await bounded('lookupUser', () =>
      adapter.lookupUser(withSignal({ address: recipient, request }, controller)),
    );
    if (user === null || user === undefined)
      return { requestStatus: INVALID_USER, description: 'unknown calendar user' };

    if (message.component === 'VFREEBUSY') {
      const { start, end } = freeBusyRange(message);
      const busy = await bounded('getFreeBusy', () =>
        adapter.getFreeBusy(
          withSignal({ recipient, user, originator, start, end, message: facts, request }, controller),
        ),
      );
      if (!Array.isArray(busy)) throw new TypeError('getFreeBusy must return an array of busy periods');
      const { maxFreeBusyPeriods } = options.limits;
      // Coalescing sorts the host's list: a list far beyond the limit is a host fault, not data.
      if (busy.length > 20 * maxFreeBusyPeriods)
        throw new RangeError(`getFreeBusy returned ${busy.length} periods, over ${20 * maxFreeBusyPeriods}`);
      return {
        requestStatus: '2.0;Success',
        calendarData: buildFreeBusyReply(message, recipient, busy, new Date(), maxFreeBusyPeriods),
      };
    }
    const result = await bounded('deliverToInbox', () =>
      adapter.deliverToInbox(
        withSignal({ recipient, user, originator, message: facts, request }, controller),
      ),
    );
    return deliveryStatus(result ?? undefined);
  } catch (error) {
    options.logger.error?.('iSchedule delivery failed', {
      recipient,
      uid: message.uid,
      error: (error as Error).message,
    });
    debug('delivery to %s failed: %s', recipient, (error as Error).message);
    return {
      requestStatus: SERVICE_UNAVAILABLE,
      description: 'temporary failure delivering to this recipient; try later',
    };
  }
}

function deliveryStatus(result: DeliveryResult): Omit<RecipientResponse, 'recipient'> {
  if (result === undefined || result === null)
    return { requestStatus: '2.0;Success', description: 'Delivered to recipient' };
  const status = typeof result === 'string' ? result : result.requestStatus;
  if (!REQUEST_STATUS.test(status))
    throw new TypeError(`deliverToInbox returned "${status}", not a REQUEST-STATUS`);
  const description = typeof result === 'string' ? undefined : result.description;
  return description ? { requestStatus: status, description } : { requestStatus: status };
}

type AdapterCallName = 'lookupUser' | 'deliverToInbox' | 'getFreeBusy';

/**
 * Runs an adapter call within `timeoutMs`; when it passes, the controller aborts its signal. An
 * adapter that answers at once (a table lookup, a no-op) is answered as it is: no timer, no race.
 */
function callAdapter<T>(
  name: string,
  timeoutMs: number,
  controller: LazyAbortController,
  call: () => T | Promise<T>,
): T | Promise<T> {
  const answer = call();
  return isThenable(answer) ? withinDeadline(name, timeoutMs, controller, answer) : answer;
}

async function withinDeadline<T>(
  name: string,
  timeoutMs: number,
  controller: LazyAbortController,
  answer: PromiseLike<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`${name} did not answer within ${timeoutMs} ms`);
      // Refused before the abort: an adapter that answers its abort still answered too late.
      reject(error);
      controller.abort(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve(answer), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The adapter call's duration, for the metrics, however it ends. */
async function timed<T>(
  name: AdapterCallName,
  metrics: NonNullable<ResolvedOptions<unknown>['metrics']>,
  run: () => T | Promise<T>,
): Promise<T> {
  const started = performance.now();
  try {
    return await run();
  } finally {
    metrics.adapterCall(name, (performance.now() - started) / 1000);
  }
}

/**
 * An adapter call's arguments (a fresh object, completed in place) with `signal`, an own
 * enumerable property read from the controller when the adapter reads it. One getter shared by every call: a getter made per call
 * (`{ ...fields, get signal() {} }`) gave each argument object a hidden class of its own, which
 * V8 builds anew every time and which turns the adapter's every property read megamorphic.
 */
function withSignal<T extends object>(
  fields: T,
  controller: LazyAbortController,
): T & { signal: AbortSignal } {
  Object.defineProperty(fields, CONTROLLER, { value: controller });
  return Object.defineProperty(fields, 'signal', SIGNAL) as T & { signal: AbortSignal };
}

const CONTROLLER = Symbol('controller');
const SIGNAL: PropertyDescriptor = {
  get(this: { [CONTROLLER]: LazyAbortController }) {
    return this[CONTROLLER].signal;
  },
  enumerable: true,
  configurable: true,
};

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}
