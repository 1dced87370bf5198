/**
 * The receiver's three callbacks over CalDAV: a delivery goes into the user's scheduling inbox
 * when the server has a writable one, else it is applied to the user's calendar as their agent
 * would (./apply-itip.ts), every write conditional and retried on a conflict; free-busy from
 * the server's free-busy-query REPORT, else from its events, expanded here.
 */
import { randomUUID } from 'node:crypto';
import type ICAL from 'ical.js';
import { busyRange, calendarBusyPeriods } from '../../itip/busy-periods.js';
import type { BusyPeriod, ScheduleMessage } from '../../itip/schedule-message.js';
import type { DeliveryResult, Logger } from '../../receiver/options.js';
import { escapeXml } from '../../xml/document.js';
import { applyItip } from './apply-itip.js';
import { parseCalendar } from './calendar-object.js';
import { CALDAV_NS, type DavClient, DavError, propText } from './dav-client.js';
import type { CaldavUser } from './directory.js';
import type { GatewayState } from './gateway-state.js';

export interface InboundBounds {
  /** Objects read for one free-busy answer at most. */
  readonly maxObjects: number;
  /** Instances expanded per recurring event. */
  readonly maxInstances: number;
  /** Attempts at a conditional write that keeps meeting someone else's change. */
  readonly maxAttempts: number;
}

const BUSY_CALENDAR: DeliveryResult = {
  requestStatus: '5.1;Service unavailable',
  description: "the recipient's calendar kept changing while this message was applied; try later",
};
const NO_CALENDAR: DeliveryResult = {
  requestStatus: '5.3;No scheduling support for user',
  description: 'the recipient has no calendar on this CalDAV server',
};

/** A stored object found by UID. */
interface Found {
  readonly path: string;
  readonly text: string;
  readonly etag: string | undefined;
}

export class CaldavInbound {
  readonly #client: DavClient;
  readonly #state: GatewayState;
  readonly #bounds: InboundBounds;
  readonly #logger: Logger;
  /**
   * Answers a REFRESH (an attendee asking for the event again) from the organizer's stored copy,
   * when there is an outbox to send it with; without one a REFRESH is answered 3.14.
   */
  onRefresh?: (
    organizer: CaldavUser,
    attendee: string,
    stored: string | undefined,
  ) => Promise<DeliveryResult>;
  /** Calendars that answered free-busy-query with something other than a VFREEBUSY. */
  readonly #noFreeBusyReport = new Set<string>();

  constructor(client: DavClient, state: GatewayState, bounds: InboundBounds, logger: Logger) {
    this.#client = client;
    this.#state = state;
    this.#bounds = bounds;
    this.#logger = logger;
  }

  async deliver(
    user: CaldavUser,
    originator: string,
    message: ScheduleMessage,
    signal?: AbortSignal,
  ): Promise<DeliveryResult> {
    if (user.inbox && (await this.#intoInbox(user.inbox, message.text, signal))) return undefined;
    const home = user.calendars[0];
    if (!home) return NO_CALENDAR;
    if (message.method === 'REFRESH' && this.onRefresh) {
      const found = await this.#findByUid(user, message, signal);
      return this.onRefresh(user, originator, found?.text);
    }
    for (let attempt = 0; attempt < this.#bounds.maxAttempts; attempt++) {
      const found = await this.#findByUid(user, message, signal);
      const application = applyItip(found?.text, message.text, originator, user.address);
      if (application.kind === 'answer') return application.status;
      if (application.kind === 'delete') {
        if (!found) return undefined;
        if (await this.#client.delete(found.path, found.etag, signal)) {
          this.#state.setObject(found.path, undefined);
          await this.#state.save();
          return undefined;
        }
        continue;
      }
      const target = found?.path ?? `${home}${objectName(message.uid)}`;
      const written = await this.#client.put(target, application.text, found?.etag, signal);
      if (written.written) {
        // Remembered as the gateway's own write: the sync does not take it for the user's change.
        this.#state.setObject(target, {
          ...(written.etag && { etag: written.etag }),
          text: application.text,
          owner: user.address,
        });
        await this.#state.save();
        return undefined;
      }
      this.#logger.info?.('CalDAV gateway: the object changed meanwhile; applying again', {
        recipient: user.address,
        uid: message.uid,
      });
    }
    return BUSY_CALENDAR;
  }

  async freeBusy(user: CaldavUser, start: Date, end: Date, signal?: AbortSignal): Promise<BusyPeriod[]> {
    const busy: BusyPeriod[] = [];
    for (const calendar of user.calendars) {
      const reported = this.#noFreeBusyReport.has(calendar)
        ? undefined
        : await this.#freeBusyReport(calendar, start, end, signal);
      if (reported) busy.push(...reported);
      else busy.push(...(await this.#busyFromEvents(calendar, start, end, signal)));
    }
    return busy;
  }

  /** PUT into the scheduling inbox; false when the server will not take it there. */
  async #intoInbox(inbox: string, text: string, signal?: AbortSignal): Promise<boolean> {
    const path = `${inbox.endsWith('/') ? inbox : `${inbox}/`}${randomUUID()}.ics`;
    try {
      return (await this.#client.put(path, text, undefined, signal)).written;
    } catch (error) {
      if (error instanceof DavError && [403, 405, 409].includes(error.status)) return false;
      throw error;
    }
  }

  /** The recipient's object with this UID, in whichever of their calendars holds it. */
  async #findByUid(
    user: CaldavUser,
    message: ScheduleMessage,
    signal?: AbortSignal,
  ): Promise<Found | undefined> {
    const component = message.component === 'VTODO' ? 'VTODO' : 'VEVENT';
    const body =
      `<C:calendar-query xmlns:D="DAV:" xmlns:C="${CALDAV_NS}"><D:prop><D:getetag/><C:calendar-data/></D:prop>` +
      `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="${component}">` +
      `<C:prop-filter name="UID"><C:text-match collation="i;octet">${escapeXml(message.uid)}</C:text-match>` +
      '</C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>';
    for (const calendar of user.calendars) {
      const answer = await this.#client.report(calendar, body, 1, signal);
      for (const resource of answer.resources) {
        const text = propText(resource, CALDAV_NS, 'calendar-data');
        if (!text) continue;
        // text-match is a substring match: keep only the exact UID.
        if (uidOf(text) !== message.uid) continue;
        return { path: resource.href, text, etag: propText(resource, 'DAV:', 'getetag') };
      }
    }
    return undefined;
  }

  async #freeBusyReport(calendar: string, start: Date, end: Date, signal?: AbortSignal) {
    const body =
      `<?xml version="1.0" encoding="utf-8"?>\n<C:free-busy-query xmlns:C="${CALDAV_NS}">` +
      `<C:time-range start="${utc(start)}" end="${utc(end)}"/></C:free-busy-query>`;
    const response = await this.#client.request('REPORT', calendar, {
      body,
      headers: [
        ['Content-Type', 'application/xml; charset=utf-8'],
        ['Depth', '1'],
      ],
      ...(signal && { signal }),
    });
    if (response.status !== 200 || !/^text\/calendar/i.test(response.headers['content-type'] ?? '')) {
      // Radicale 3.1, for one, answers a multistatus here: its events are read instead.
      this.#noFreeBusyReport.add(calendar);
      return undefined;
    }
    const periods: BusyPeriod[] = [];
    for (const vfreebusy of parseCalendar(response.text).getAllSubcomponents('vfreebusy'))
      for (const property of vfreebusy.getAllProperties('freebusy')) {
        const type = String(property.getParameter('fbtype') ?? 'BUSY').toUpperCase();
        if (type === 'FREE') continue;
        for (const value of property.getValues() as ICAL.Period[]) {
          periods.push({
            start: value.start.toJSDate(),
            end: value.getEnd().toJSDate(),
            type: type === 'BUSY-TENTATIVE' || type === 'BUSY-UNAVAILABLE' ? type : 'BUSY',
          });
        }
      }
    return periods;
  }

  async #busyFromEvents(
    calendar: string,
    start: Date,
    end: Date,
    signal?: AbortSignal,
  ): Promise<BusyPeriod[]> {
    const body =
      `<C:calendar-query xmlns:D="DAV:" xmlns:C="${CALDAV_NS}"><D:prop><C:calendar-data/></D:prop>` +
      '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">' +
      `<C:time-range start="${utc(start)}" end="${utc(end)}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
    const answer = await this.#client.report(calendar, body, 1, signal);
    if (answer.resources.length > this.#bounds.maxObjects)
      throw new RangeError(`free-busy of ${calendar} needs more than ${this.#bounds.maxObjects} objects`);
    const range = busyRange(start, end);
    const busy: BusyPeriod[] = [];
    for (const resource of answer.resources) {
      const text = propText(resource, CALDAV_NS, 'calendar-data');
      if (!text) continue;
      let object: ICAL.Component;
      try {
        object = parseCalendar(text);
      } catch {
        continue; // One broken object is skipped: the others still count.
      }
      busy.push(...calendarBusyPeriods(object, range, this.#bounds.maxInstances));
      if (busy.length > this.#bounds.maxInstances * 5)
        throw new RangeError(
          `free-busy of ${calendar} needs more than ${this.#bounds.maxInstances * 5} periods`,
        );
    }
    return busy;
  }
}

/** The UID of stored text, read without trusting it to parse. */
function uidOf(text: string): string | undefined {
  try {
    const component = parseCalendar(text)
      .getAllSubcomponents()
      .find((c) => c.name === 'vevent' || c.name === 'vtodo');
    const uid = component?.getFirstPropertyValue('uid');
    return uid === null || uid === undefined ? undefined : String(uid);
  } catch {
    return undefined;
  }
}

function utc(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/** A resource name for a new object: the UID where it is safe in a path, else a fresh one. */
export function objectName(uid: string): string {
  return /^[A-Za-z0-9@._-]{1,200}$/.test(uid) && !uid.startsWith('.') ? `${uid}.ics` : `${randomUUID()}.ics`;
}
