/**
 * An outbox job as every engine keeps it: the message, and per recipient domain a part with its
 * own attempts and schedule, so that one domain's outage never holds another's recipients.
 */
import { randomUUID } from 'node:crypto';
import { addressDomain } from '../itip/address.js';

/** What the host hands to the outbox. */
export interface OutboxMessage {
  /** The calendar user sending (the ORGANIZER of a REQUEST, the ATTENDEE of a REPLY...). */
  readonly originator: string;
  /** Calendar addresses at other domains. */
  readonly recipients: readonly string[];
  /** The iTIP message, iCalendar text. */
  readonly calendar: string;
  /**
   * Where to send, instead of discovering each domain's receiver (what `ischedule send
   * --server/--ca` keeps with the job); needs the outbox's `clientFor`.
   */
  readonly receiver?: ReceiverRoute;
}

/** A receiver named by the operator: its URL, and a CA certificate (PEM) to trust for it. */
export interface ReceiverRoute {
  readonly url: string;
  readonly ca?: string;
}

/** Where a recipient stands: waiting, delivered, or failed for good. */
export type RecipientState = 'pending' | 'delivered' | 'failed';

/** The REQUEST-STATUS shown for a recipient not answered yet (SCHEDULE-STATUS 1.0). */
export const PENDING_STATUS = '1.0;Pending';

/** A recipient's last known status, as told to `onStatus`. */
export interface RecipientStatus {
  readonly recipient: string;
  readonly state: RecipientState;
  /** The REQUEST-STATUS to show (SCHEDULE-STATUS): `1.0` while pending, then the answer's. */
  readonly requestStatus: string;
  readonly description?: string;
}

/** The recipients of one job at one domain. */
export interface OutboxPart {
  readonly domain: string;
  readonly recipients: readonly string[];
  /** Attempts made so far. */
  readonly attempts: number;
  /** When the next attempt may start, ms since the epoch. */
  readonly nextAttemptAt: number;
  /** The last status of each recipient that has one. */
  readonly statuses: Readonly<Record<string, RecipientStatus>>;
  /** Every recipient is delivered or failed for good. */
  readonly done: boolean;
}

/** Every recipient of a part with its last status, pending until it has one. */
export function partStatuses(part: OutboxPart): RecipientStatus[] {
  return part.recipients.map(
    (recipient) => part.statuses[recipient] ?? { recipient, state: 'pending', requestStatus: PENDING_STATUS },
  );
}

/** A callback still owed to the host (kept until it returns, retried when it throws). */
export type Notice =
  | { readonly kind: 'status'; readonly status: RecipientStatus }
  | { readonly kind: 'fallback'; readonly status: RecipientStatus; readonly reason: FallbackReason };

/** Why a recipient went to the fallback (iMIP): no iSchedule receiver, or it never answered. */
export type FallbackReason = 'no-receiver' | 'gave-up';

export interface OutboxJob {
  /** Also the iSchedule-Message-ID of every attempt. */
  readonly id: string;
  /** Order of arrival: parts for one UID and domain go out in this order. */
  readonly seq: number;
  readonly createdAt: number;
  readonly originator: string;
  readonly calendar: string;
  /** The message's UID (the ordering key, with the domain). */
  readonly uid: string;
  readonly receiver?: ReceiverRoute;
  readonly parts: readonly OutboxPart[];
  readonly notices: readonly Notice[];
}

/** A new job: recipients grouped by domain, each part due now. */
export function newJob(
  message: OutboxMessage,
  uid: string,
  seq: number,
  { id = randomUUID(), now = Date.now() }: { id?: string; now?: number } = {},
): OutboxJob {
  const byDomain = new Map<string, string[]>();
  for (const recipient of new Set(message.recipients)) {
    const domain = addressDomain(recipient) ?? '';
    byDomain.set(domain, [...(byDomain.get(domain) ?? []), recipient]);
  }
  return {
    id,
    seq,
    createdAt: now,
    originator: message.originator,
    calendar: message.calendar,
    uid,
    ...(message.receiver && { receiver: message.receiver }),
    parts: [...byDomain].map(([domain, recipients]) => ({
      domain,
      recipients,
      attempts: 0,
      nextAttemptAt: now,
      statuses: {},
      done: false,
    })),
    notices: [],
  };
}

/** Finished: every part done and every callback made. */
export function finished(job: OutboxJob): boolean {
  return job.notices.length === 0 && job.parts.every((p) => p.done);
}
