/**
 * The organizer's server sends without knowing it: the gateway follows each user's calendars
 * with sync-collection (RFC 6578) and, for each change a user made, queues what their agent
 * would have sent (RFC 5546): a REQUEST to remote attendees when an organizer's event is new or
 * changed, a CANCEL when it is cancelled or deleted or an attendee is removed, a REPLY when a
 * local attendee answers (or deletes) an invitation from another domain. Outbox statuses come
 * back as SCHEDULE-STATUS on the event, written conditionally.
 *
 * No loops: what the gateway wrote itself is remembered with its ETag and not taken for a
 * user's change, and a change to answers or SCHEDULE-STATUS alone is not significant.
 */
import ICAL from 'ical.js';
import { addressDomain, sameAddress, withinDomain } from '../../itip/address.js';
import type { Outbox, StatusUpdate } from '../../outbox/outbox.js';
import type { DeliveryResult, Logger } from '../../receiver/options.js';
import { escapeXml } from '../../xml/document.js';
import { significantlyDifferent } from './apply-itip.js';
import {
  attendeeAddresses,
  attendeeProperty,
  calendarText,
  copyComponent,
  instanceKey,
  newCalendar,
  organizerOf,
  parseCalendar,
  partstatOf,
  schedulingComponents,
  timezonesOf,
} from './calendar-object.js';
import { CALDAV_NS, type DavClient, DavError, type DavResource, propText } from './dav-client.js';
import type { CaldavDirectory } from './directory.js';
import type { GatewayState, JobRecord } from './gateway-state.js';

/** One message to queue, and the object whose SCHEDULE-STATUS it updates. */
export interface Outgoing {
  readonly method: 'REQUEST' | 'CANCEL' | 'REPLY';
  readonly originator: string;
  readonly recipients: readonly string[];
  readonly calendar: string;
}

/**
 * What the owner's agent sends for a change from `before` to `after` (either undefined: created
 * or deleted). `isLocal` says which addresses the gateway's own server holds.
 */
export function outgoingFor(
  owner: string,
  before: ICAL.Component | undefined,
  after: ICAL.Component | undefined,
  isLocal: (address: string) => boolean,
  now = new Date(),
): Outgoing[] {
  const latest = after ?? before;
  if (!latest) return [];
  const organizer = organizerOf(latest);
  if (!organizer) return [];
  const remote = (calendar: ICAL.Component | undefined) =>
    calendar
      ? attendeeAddresses(calendar).filter(
          (a) => !isLocal(a) && !sameAddress(a, organizer) && serverScheduled(calendar, a),
        )
      : [];

  if (sameAddress(organizer, owner)) {
    const was = before && !cancelled(before) ? remote(before) : [];
    if (!after || cancelled(after)) {
      return was.length > 0 ? [cancel(owner, latest, was, now)] : [];
    }
    const invited = remote(after);
    const sent: Outgoing[] = [];
    const removed = was.filter((a) => !invited.some((b) => sameAddress(a, b)));
    if (removed.length > 0 && before) sent.push(cancel(owner, before, removed, now));
    // Who is invited is part of the event: adding someone updates everyone's copy.
    const significant = !before || cancelled(before) || significantlyDifferent(before, after);
    if (significant && invited.length > 0) sent.push(request(owner, after, invited, now));
    return sent;
  }

  if (isLocal(organizer) || !attendeeAddresses(latest).some((a) => sameAddress(a, owner))) return [];
  if (!after) {
    // Deleting an invitation declines it, unless it was declined already.
    const declined = before && schedulingComponents(before).every((c) => partstatOf(c, owner) === 'DECLINED');
    return before && !declined ? [reply(owner, organizer, before, now, 'DECLINED')] : [];
  }
  const answers = (calendar: ICAL.Component | undefined) =>
    new Map(
      (calendar ? schedulingComponents(calendar) : []).map((c) => [instanceKey(c), partstatOf(c, owner)]),
    );
  const previous = answers(before);
  // NEEDS-ACTION is no answer: it is what an update that moved the event asks again (written by
  // the gateway itself, which another process or a server without ETags cannot tell apart).
  const changed = [...answers(after)].some(
    ([key, partstat]) => partstat !== 'NEEDS-ACTION' && (previous.get(key) ?? 'NEEDS-ACTION') !== partstat,
  );
  return changed ? [reply(owner, organizer, after, now)] : [];
}

/** RFC 6638: SCHEDULE-AGENT=CLIENT (or NONE) means the user's own client schedules that one. */
function serverScheduled(calendar: ICAL.Component, address: string): boolean {
  return schedulingComponents(calendar).every((c) => {
    const agent = attendeeProperty(c, address)?.getParameter('schedule-agent');
    return !agent || String(agent).toUpperCase() === 'SERVER';
  });
}

function cancelled(calendar: ICAL.Component): boolean {
  const master = schedulingComponents(calendar).find((c) => instanceKey(c) === '');
  return String(master?.getFirstPropertyValue('status') ?? '').toUpperCase() === 'CANCELLED';
}

/** The stored components as they go out: no alarms, no scheduling bookkeeping, stamped now. */
function outgoingComponent(component: ICAL.Component, now: Date): ICAL.Component {
  const copy = copyComponent(component);
  for (const alarm of copy.getAllSubcomponents('valarm')) copy.removeSubcomponent(alarm);
  for (const property of [...copy.getAllProperties('attendee'), ...copy.getAllProperties('organizer')]) {
    for (const name of ['schedule-status', 'schedule-force-send', 'schedule-agent'])
      property.removeParameter(name);
  }
  copy.updatePropertyWithValue('dtstamp', stamp(now));
  return copy;
}

function request(owner: string, calendar: ICAL.Component, recipients: string[], now: Date): Outgoing {
  const message = newCalendar('REQUEST', timezonesOf(calendar));
  for (const component of schedulingComponents(calendar))
    message.addSubcomponent(outgoingComponent(component, now));
  return { method: 'REQUEST', originator: owner, recipients, calendar: calendarText(message) };
}

function cancel(owner: string, calendar: ICAL.Component, recipients: string[], now: Date): Outgoing {
  const message = newCalendar('CANCEL', timezonesOf(calendar));
  const master = schedulingComponents(calendar)[0];
  if (master) {
    const component = outgoingComponent(master, now);
    // The whole event (or, with no master stored, the instance it names) is cancelled.
    for (const name of ['rrule', 'rdate', 'exdate']) component.removeAllProperties(name);
    // Only the attendees told: the others stay invited.
    for (const attendee of component.getAllProperties('attendee'))
      if (!recipients.some((r) => sameAddress(r, String(attendee.getFirstValue()))))
        component.removeProperty(attendee);
    component.updatePropertyWithValue('status', 'CANCELLED');
    message.addSubcomponent(component);
  }
  return { method: 'CANCEL', originator: owner, recipients, calendar: calendarText(message) };
}

function reply(
  owner: string,
  organizer: string,
  calendar: ICAL.Component,
  now: Date,
  partstat?: string,
): Outgoing {
  const message = newCalendar('REPLY', timezonesOf(calendar));
  for (const component of schedulingComponents(calendar)) {
    const mine = attendeeProperty(component, owner);
    if (!mine) continue;
    const answer = outgoingComponent(component, now);
    // A REPLY carries one ATTENDEE, the one answering.
    for (const attendee of answer.getAllProperties('attendee'))
      if (!sameAddress(String(attendee.getFirstValue()), owner)) answer.removeProperty(attendee);
    for (const name of ['rrule', 'rdate', 'exdate', 'description', 'location', 'categories'])
      answer.removeAllProperties(name);
    const attendee = attendeeProperty(answer, owner);
    attendee?.removeParameter('rsvp');
    if (partstat) attendee?.setParameter('partstat', partstat);
    message.addSubcomponent(answer);
  }
  return { method: 'REPLY', originator: owner, recipients: [organizer], calendar: calendarText(message) };
}

function stamp(now: Date): ICAL.Time {
  const text = now.toISOString();
  return ICAL.Time.fromDateTimeString(`${text.slice(0, 19)}Z`);
}

/** Whether a calendar address is in one of `domains` (sub-domains included): the server's own. */
export function localTo(domains: readonly string[]): (address: string) => boolean {
  return (address) => {
    const domain = addressDomain(address);
    return domain !== undefined && domains.some((d) => withinDomain(domain, d));
  };
}

/** Parts of one truncated sync followed in one pass at most; the next pass goes on. */
const MAX_SYNC_PARTS = 100;

export interface FollowOptions {
  readonly domains: readonly string[];
  /** Objects one sync of one calendar may report at most. */
  readonly maxObjects: number;
  readonly logger: Logger;
}

/** Follows users' calendars and queues what their changes mean; see the module comment. */
export class CaldavFollower {
  readonly #client: DavClient;
  readonly #directory: CaldavDirectory;
  readonly #state: GatewayState;
  readonly #options: FollowOptions;
  #running: Promise<void> | undefined;

  constructor(client: DavClient, directory: CaldavDirectory, state: GatewayState, options: FollowOptions) {
    this.#client = client;
    this.#directory = directory;
    this.#state = state;
    this.#options = options;
    this.isLocal = localTo(options.domains);
  }

  readonly isLocal: (address: string) => boolean;

  /** One pass over every followed user's calendars; concurrent calls share one pass. */
  sync(users: readonly string[], outbox: Outbox): Promise<void> {
    this.#running ??= this.#pass(users, outbox).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Resolves when no pass is running. */
  idle(): Promise<void> {
    return this.#running?.catch(() => undefined) ?? Promise.resolve();
  }

  /** Every user's calendars; one that fails does not hold up the others (the first error is thrown after). */
  async #pass(users: readonly string[], outbox: Outbox): Promise<void> {
    let failure: unknown;
    for (const address of users) {
      try {
        const user = await this.#directory.lookup(address);
        if (!user) {
          this.#options.logger.warn?.(`CalDAV gateway: ${address} is not a user of the CalDAV server`);
          continue;
        }
        for (const calendar of user.calendars) await this.#syncCalendar(user.address, calendar, outbox);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  async #syncCalendar(owner: string, collection: string, outbox: Outbox): Promise<void> {
    // undefined: never synced; '': synced, but the server gives no token (a full read each time).
    let token = this.#state.token(collection);
    // A calendar seen for the first time is taken as it is: only later changes are sent.
    const baseline = token === undefined;
    let full = !token;
    const seen = new Set<string>();
    // A server may answer in parts (RFC 6578 §3.6: 507 on the collection): ask on from each token.
    for (let part = 0; part < MAX_SYNC_PARTS; part++) {
      let answer: Awaited<ReturnType<DavClient['report']>>;
      try {
        answer = await this.#client.report(collection, syncBody(token), 1);
      } catch (error) {
        if (!(error instanceof DavError) || error.condition !== 'valid-sync-token') throw error;
        // The server forgot the token: everything again, and deletions found by comparison.
        this.#options.logger.info?.(`CalDAV gateway: ${collection} refused its sync token; reading it whole`);
        full = true;
        seen.clear();
        answer = await this.#client.report(collection, syncBody(undefined), 1);
      }
      if (answer.resources.length > this.#options.maxObjects)
        throw new RangeError(
          `a sync of ${collection} reported more than ${this.#options.maxObjects} objects`,
        );
      for (const resource of answer.resources) {
        if (resource.href === collection) continue;
        seen.add(resource.href);
        await this.#member(owner, resource, baseline, outbox);
      }
      token = answer.syncToken ?? '';
      const truncated = answer.resources.some((r) => r.href === collection && r.status === 507);
      if (!truncated || !answer.syncToken) break;
    }
    if (full && !baseline) {
      for (const href of this.#state.objectsIn(collection)) {
        if (seen.has(href)) continue;
        const known = this.#state.object(href);
        if (known) await this.#changed(owner, href, known.text, undefined, outbox);
        this.#state.setObject(href, undefined);
      }
    }
    // Kept only now: a token saved before the deletions were found would skip them after a crash.
    this.#state.setToken(collection, token ?? '');
    await this.#state.save();
  }

  /** One member a sync reported: removed (404), or created or changed. */
  async #member(owner: string, resource: DavResource, baseline: boolean, outbox: Outbox): Promise<void> {
    const known = this.#state.object(resource.href);
    if (resource.status === 404) {
      if (known) await this.#changed(owner, resource.href, known.text, undefined, outbox);
      this.#state.setObject(resource.href, undefined);
      return;
    }
    const text = propText(resource, CALDAV_NS, 'calendar-data');
    const etag = propText(resource, 'DAV:', 'getetag');
    if (!text) return;
    if (known && etag && known.etag === etag) return; // The gateway's own write.
    if (!baseline) await this.#changed(owner, resource.href, known?.text, text, outbox);
    this.#state.setObject(resource.href, { ...(etag && { etag }), text, owner });
  }

  async #changed(
    owner: string,
    href: string,
    before: string | undefined,
    after: string | undefined,
    outbox: Outbox,
  ): Promise<void> {
    const read = (text: string | undefined) => {
      if (text === undefined) return undefined;
      try {
        return parseCalendar(text);
      } catch {
        return undefined; // Not iCalendar: nothing a scheduling agent can act on.
      }
    };
    for (const outgoing of outgoingFor(owner, read(before), read(after), this.isLocal)) {
      const id = await outbox.enqueue({
        originator: outgoing.originator,
        recipients: outgoing.recipients,
        calendar: outgoing.calendar,
      });
      const role: JobRecord['role'] = outgoing.method === 'REPLY' ? 'organizer' : 'attendees';
      if (after !== undefined) this.#state.setJob(id, { href, role, createdAt: Date.now() });
      this.#options.logger.info?.(
        `CalDAV gateway: ${outgoing.method} from ${outgoing.originator} to ${outgoing.recipients.join(', ')} queued (${id})`,
      );
    }
  }

  /**
   * Sends `attendee` the organizer's current copy again (RFC 5546 §3.2.7: the answer to a
   * REFRESH is a REQUEST), if they are invited to it.
   */
  async refresh(
    organizer: string,
    attendee: string,
    stored: string | undefined,
    outbox: Outbox,
  ): Promise<DeliveryResult> {
    const calendar = stored === undefined ? undefined : parseCalendar(stored);
    const owner = calendar && organizerOf(calendar);
    if (!calendar || !owner || !sameAddress(owner, organizer))
      return {
        requestStatus: '3.8;No authority',
        description: 'the recipient organizes no event with this UID',
      };
    if (!attendeeAddresses(calendar).some((a) => sameAddress(a, attendee)))
      return {
        requestStatus: '3.8;No authority',
        description: 'the Originator is not an attendee of this event',
      };
    const message = request(organizer, calendar, [attendee], new Date());
    const id = await outbox.enqueue({
      originator: organizer,
      recipients: [attendee],
      calendar: message.calendar,
    });
    this.#options.logger.info?.(
      `CalDAV gateway: REQUEST from ${organizer} to ${attendee} queued (${id}) for a REFRESH`,
    );
    return undefined;
  }

  /**
   * Writes an outbox status onto the event as SCHEDULE-STATUS (RFC 6638 §7.3): on the ATTENDEE
   * for a REQUEST or CANCEL, on the ORGANIZER for a REPLY. Conditional; retried on a conflict.
   */
  async writeStatus(update: StatusUpdate, maxAttempts: number): Promise<void> {
    const job = this.#state.job(update.jobId);
    if (!job) return;
    const code = update.requestStatus.split(';')[0]!.trim();
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const stored = await this.#client.get(job.href);
      if (!stored) return; // Deleted meanwhile: nothing to mark.
      const calendar = parseCalendar(stored.text);
      let changed = false;
      for (const component of schedulingComponents(calendar)) {
        const property =
          job.role === 'organizer'
            ? component.getFirstProperty('organizer')
            : attendeeProperty(component, update.recipient);
        if (!property || property.getParameter('schedule-status') === code) continue;
        property.setParameter('schedule-status', code);
        changed = true;
      }
      if (!changed) return;
      const text = calendarText(calendar);
      const written = await this.#client.put(job.href, text, stored.etag);
      if (written.written) {
        const known = this.#state.object(job.href);
        this.#state.setObject(job.href, {
          ...(written.etag && { etag: written.etag }),
          text,
          owner: known?.owner ?? update.originator,
        });
        await this.#state.save();
        return;
      }
    }
    throw new Error(`SCHEDULE-STATUS for ${update.recipient} on ${job.href}: the event kept changing`);
  }
}

function syncBody(token: string | undefined): string {
  return (
    `<D:sync-collection xmlns:D="DAV:" xmlns:C="${CALDAV_NS}"><D:sync-token>${escapeXml(token ?? '')}</D:sync-token>` +
    '<D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>'
  );
}
