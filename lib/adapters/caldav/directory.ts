/**
 * Who the CalDAV server's users are: a calendar address to the user's principal (from the
 * configured table, else asked of the server with principal-property-search), then their
 * calendar home, calendars and scheduling inbox (RFC 4791, RFC 6638). Answers are cached for a
 * while; a failure is not cached.
 */
import type { Element } from '@xmldom/xmldom';
import { normalizeAddress, sameAddress } from '../../itip/address.js';
import { DAV_NS, escapeXml } from '../../xml/document.js';
import { CALDAV_NS, type DavClient, DavError, propHrefs, propKey } from './dav-client.js';

/** A user of the CalDAV server, as the gateway's adapter calls hand it around. */
export interface CaldavUser {
  readonly address: string;
  /** The principal (or calendar home) path configured or found. */
  readonly principal: string;
  /** Calendar collections that take the user's events, the default first. */
  readonly calendars: readonly string[];
  /** The RFC 6638 scheduling inbox, when the server has one. */
  readonly inbox?: string;
}

export class CaldavDirectory {
  readonly #client: DavClient;
  readonly #table: ReadonlyMap<string, string>;
  readonly #ttl: number;
  readonly #cache = new Map<string, { until: number; user: Promise<CaldavUser | null> }>();

  constructor(client: DavClient, table: Readonly<Record<string, string>>, ttlMs: number) {
    this.#client = client;
    this.#table = new Map(Object.entries(table).map(([address, path]) => [normalizeAddress(address), path]));
    this.#ttl = ttlMs;
  }

  /** The addresses configured in the table (the users the gateway follows). */
  get configured(): string[] {
    return [...this.#table.keys()];
  }

  lookup(address: string, signal?: AbortSignal): Promise<CaldavUser | null> {
    const key = normalizeAddress(address);
    const cached = this.#cache.get(key);
    if (cached && cached.until > Date.now()) return cached.user;
    const user = this.#find(key, signal);
    this.#cache.set(key, { until: Date.now() + this.#ttl, user });
    user.catch(() => this.#cache.delete(key));
    return user;
  }

  async #find(address: string, signal?: AbortSignal): Promise<CaldavUser | null> {
    const principal = this.#table.get(address) ?? (await this.#search(address, signal));
    if (!principal) return null;
    const about = await this.#client.propfind(
      principal,
      [
        [CALDAV_NS, 'calendar-home-set'],
        [CALDAV_NS, 'schedule-inbox-URL'],
        [CALDAV_NS, 'schedule-outbox-URL'],
      ],
      0,
      signal,
    );
    const self = about.resources[0];
    // Hrefs as paths on the server (one on another origin is refused, not followed).
    const hrefs = (name: string) =>
      self ? propHrefs(self, CALDAV_NS, name).map((h) => this.#client.url(h).pathname) : [];
    const home = hrefs('calendar-home-set')[0] ?? principal;
    const inbox = hrefs('schedule-inbox-URL')[0];
    // DAViCal lists its scheduling inbox and outbox as plain calendars: they are not calendars.
    const scheduling = new Set([...hrefs('schedule-inbox-URL'), ...hrefs('schedule-outbox-URL')]);
    const members = await this.#client.propfind(
      home,
      [
        [DAV_NS, 'resourcetype'],
        [CALDAV_NS, 'supported-calendar-component-set'],
      ],
      1,
      signal,
    );
    const calendars = members.resources
      .filter((r) => {
        const type = r.props.get(propKey(DAV_NS, 'resourcetype'));
        if (!type) return false;
        const kinds = [...childNames(type)];
        return (
          kinds.includes(`${CALDAV_NS} calendar`) &&
          !kinds.some((k) => k.startsWith(`${CALDAV_NS} schedule-`)) &&
          !scheduling.has(r.href)
        );
      })
      .map((r) => r.href);
    return { address, principal, calendars, ...(inbox && { inbox }) };
  }

  /** principal-property-search on calendar-user-address-set; undefined where the server cannot. */
  async #search(address: string, signal?: AbortSignal): Promise<string | undefined> {
    const body =
      `<D:principal-property-search xmlns:D="DAV:" xmlns:C="${CALDAV_NS}"><D:property-search><D:prop>` +
      `<C:calendar-user-address-set/></D:prop><D:match>${escapeXml(address.replace(/^mailto:/i, ''))}</D:match>` +
      '</D:property-search><D:prop><C:calendar-user-address-set/></D:prop></D:principal-property-search>';
    try {
      const found = await this.#client.report(this.#client.base.pathname, body, 0, signal);
      return found.resources.find((r) =>
        propHrefs(r, CALDAV_NS, 'calendar-user-address-set').some((a) => sameAddress(a, address)),
      )?.href;
    } catch (error) {
      // A server without the report (403, 405, 501) simply cannot say.
      if (error instanceof DavError && error.status >= 400 && error.status < 500) return undefined;
      if (error instanceof DavError && error.status === 501) return undefined;
      throw error;
    }
  }
}

function* childNames(element: Element): Generator<string> {
  for (let node = element.firstChild; node; node = node.nextSibling)
    if (node.nodeType === 1) {
      const child = node as Element;
      yield `${child.namespaceURI ?? ''} ${child.localName ?? ''}`;
    }
}
