/**
 * The few WebDAV/CalDAV exchanges the gateway needs (PROPFIND, REPORT, GET, conditional PUT and
 * DELETE), over the package's bounded HTTP layer with one keep-alive agent, and multistatus
 * answers read with the package's bounded XML reader. The CalDAV server is the operator's, but
 * its answers are still bounded: a server that misbehaves must not take the receiver with it.
 */
import http from 'node:http';
import https from 'node:https';
import type { Element } from '@xmldom/xmldom';
import { ExpressIScheduleError } from '../../errors.js';
import { httpRequest } from '../../http/request.js';
import { childElements, DAV_NS, parseXml, textOf, XML_DECLARATION } from '../../xml/document.js';

export const CALDAV_NS = 'urn:ietf:params:xml:ns:caldav';

/** How the gateway signs in: one service account for every user, or credentials per path. */
export type DavCredentials =
  | { readonly username: string; readonly password: string }
  | ((path: string) => { readonly username: string; readonly password: string } | undefined);

export interface DavClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:5232/. */
  readonly url: string;
  readonly credentials?: DavCredentials;
  /** Milliseconds for one exchange (default 10000). */
  readonly timeout?: number;
  /** Largest answer read, octets (default 16 MiB). */
  readonly maxBytes?: number;
  /** Elements in one multistatus answer at most (default 200000). */
  readonly maxElements?: number;
  /** Extra CA certificates (PEM) to trust for an https:// server. */
  readonly ca?: string;
}

/** The CalDAV server answered something the gateway cannot go on with. */
export class DavError extends ExpressIScheduleError<'caldav'> {
  override name = 'DavError';
  constructor(
    message: string,
    readonly status: number,
    /** The precondition element the server named (e.g. `valid-sync-token`), if any. */
    readonly condition?: string,
  ) {
    super('caldav', message);
  }
}

/** One `response` of a multistatus: its href, status (for a gone member) and found properties. */
export interface DavResource {
  readonly href: string;
  /** The response-level status, when the server gave one (404 for a removed member). */
  readonly status?: number;
  /** Properties answered 200, by `namespace localName`. */
  readonly props: ReadonlyMap<string, Element>;
}

export interface Multistatus {
  readonly resources: readonly DavResource[];
  readonly syncToken?: string;
}

/** A property name: `[namespace, localName]`. */
export type PropName = readonly [string, string];

export const propKey = (namespace: string, name: string) => `${namespace} ${name}`;

/** The outcome of a conditional write: done (with the new ETag when the server says), or refused. */
export type WriteOutcome = { readonly written: true; readonly etag?: string } | { readonly written: false };

export class DavClient {
  readonly base: URL;
  readonly #options: DavClientOptions;
  readonly #agent: http.Agent;

  constructor(options: DavClientOptions) {
    this.base = new URL(options.url);
    this.#options = options;
    this.#agent =
      this.base.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 16, ...(options.ca && { ca: options.ca }) })
        : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  /**
   * The absolute URL of a server path or href. An href naming another origin is refused: the
   * gateway's credentials go to the configured server only, whatever its answers name.
   */
  url(path: string): URL {
    const url = new URL(path, this.base);
    if (url.origin !== this.base.origin)
      throw new DavError(`${path} is not on the CalDAV server ${this.base.origin}; not followed`, 0);
    return url;
  }

  async request(
    method: string,
    path: string,
    {
      body,
      headers = [],
      signal,
    }: { body?: string; headers?: [string, string][]; signal?: AbortSignal } = {},
  ): Promise<{ status: number; headers: Readonly<Record<string, string>>; text: string }> {
    const url = this.url(path);
    const credentials = this.#credentials(url.pathname);
    const all: [string, string][] = [...headers];
    if (credentials)
      all.push([
        'Authorization',
        `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
      ]);
    const response = await httpRequest({
      url,
      method,
      headers: all,
      ...(body !== undefined && { body: Buffer.from(body) }),
      timeout: this.#options.timeout ?? 10_000,
      maxBytes: this.#options.maxBytes ?? 16 << 20,
      agent: this.#agent,
      ...(signal && { signal }),
    });
    return { status: response.status, headers: response.headers, text: response.body.toString('utf8') };
  }

  async propfind(
    path: string,
    props: readonly PropName[],
    depth: 0 | 1,
    signal?: AbortSignal,
  ): Promise<Multistatus> {
    const body = `${XML_DECLARATION}<D:propfind xmlns:D="DAV:" xmlns:C="${CALDAV_NS}"><D:prop>${propList(props)}</D:prop></D:propfind>`;
    return this.#multistatus('PROPFIND', path, body, depth, signal);
  }

  /** A REPORT whose answer is a multistatus (calendar-query, sync-collection, ...). */
  report(path: string, body: string, depth: 0 | 1, signal?: AbortSignal): Promise<Multistatus> {
    return this.#multistatus('REPORT', path, `${XML_DECLARATION}${body}`, depth, signal);
  }

  /** The object at `path` and its ETag, or undefined when there is none. */
  async get(
    path: string,
    signal?: AbortSignal,
  ): Promise<{ text: string; etag: string | undefined } | undefined> {
    const response = await this.request('GET', path, { ...(signal && { signal }) });
    if (response.status === 404 || response.status === 410) return undefined;
    if (response.status !== 200) throw statusError('GET', path, response);
    return { text: response.text, etag: response.headers.etag };
  }

  /**
   * Writes an iCalendar object only if it is still as read (`ifMatch`, its ETag) or, without
   * one, only if nothing is there yet: never over someone else's change.
   */
  async put(
    path: string,
    text: string,
    ifMatch: string | undefined,
    signal?: AbortSignal,
  ): Promise<WriteOutcome> {
    const response = await this.request('PUT', path, {
      body: text,
      headers: [
        ['Content-Type', 'text/calendar; charset=utf-8'],
        ifMatch ? ['If-Match', ifMatch] : ['If-None-Match', '*'],
      ],
      ...(signal && { signal }),
    });
    if (response.status === 412) return { written: false };
    if (response.status < 200 || response.status > 299) throw statusError('PUT', path, response);
    return { written: true, ...(response.headers.etag && { etag: response.headers.etag }) };
  }

  /** Deletes the object if it is still as read; true when it is gone (or was already). */
  async delete(path: string, ifMatch: string | undefined, signal?: AbortSignal): Promise<boolean> {
    const response = await this.request('DELETE', path, {
      headers: ifMatch ? [['If-Match', ifMatch]] : [],
      ...(signal && { signal }),
    });
    if (response.status === 412) return false;
    if (response.status === 404 || (response.status >= 200 && response.status <= 299)) return true;
    throw statusError('DELETE', path, response);
  }

  close(): void {
    this.#agent.destroy();
  }

  #credentials(path: string) {
    const given = this.#options.credentials;
    return typeof given === 'function' ? given(path) : given;
  }

  async #multistatus(
    method: string,
    path: string,
    body: string,
    depth: 0 | 1,
    signal?: AbortSignal,
  ): Promise<Multistatus> {
    const response = await this.request(method, path, {
      body,
      headers: [
        ['Content-Type', 'application/xml; charset=utf-8'],
        ['Depth', String(depth)],
      ],
      ...(signal && { signal }),
    });
    if (response.status !== 207) throw statusError(method, path, response);
    return readMultistatus(response.text, this.#options.maxElements ?? 200_000);
  }
}

function propList(props: readonly PropName[]): string {
  return props.map(([ns, name]) => `<${ns === DAV_NS ? 'D' : 'C'}:${name}/>`).join('');
}

/** An error for an unexpected status, naming the precondition in a DAV:error body if any. */
function statusError(method: string, path: string, response: { status: number; text: string }): DavError {
  let condition: string | undefined;
  if (response.text.includes('error')) {
    try {
      const root = parseXml(response.text);
      if (root.localName === 'error' && root.namespaceURI === DAV_NS)
        condition = childElements(root, undefined)[0]?.localName ?? undefined;
    } catch {
      // Not XML: the status says enough.
    }
  }
  return new DavError(
    `${method} ${path} answered ${response.status}${condition ? ` (${condition})` : ''}`,
    response.status,
    condition,
  );
}

export function readMultistatus(text: string, maxElements: number): Multistatus {
  const root = parseXml(text, { maxElements, maxDepth: 32, maxAttributes: 16 });
  if (root.localName !== 'multistatus' || root.namespaceURI !== DAV_NS)
    throw new DavError(`expected a DAV:multistatus, got ${root.localName}`, 207);
  const resources: DavResource[] = [];
  for (const response of childElements(root, 'response', [DAV_NS])) {
    const href = textOf(childElements(response, 'href', [DAV_NS])[0])?.trim();
    if (!href) continue;
    const status = statusCode(textOf(childElements(response, 'status', [DAV_NS])[0]));
    const props = new Map<string, Element>();
    for (const propstat of childElements(response, 'propstat', [DAV_NS])) {
      if (statusCode(textOf(childElements(propstat, 'status', [DAV_NS])[0])) !== 200) continue;
      for (const prop of childElements(propstat, 'prop', [DAV_NS]))
        for (const element of childElements(prop, undefined))
          props.set(propKey(element.namespaceURI ?? '', element.localName ?? ''), element);
    }
    resources.push({ href: decodeHref(href), ...(status !== undefined && { status }), props });
  }
  const syncToken = textOf(childElements(root, 'sync-token', [DAV_NS])[0])?.trim();
  return { resources, ...(syncToken && { syncToken }) };
}

function statusCode(line: string | undefined): number | undefined {
  const match = line && /^\s*HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(line);
  return match ? Number(match[1]) : undefined;
}

/** An href as a path: absolute URLs reduced to their path, percent-escapes kept as sent. */
function decodeHref(href: string): string {
  return /^https?:\/\//i.test(href) ? new URL(href).pathname : href;
}

/** The text of a property, or of the `href` inside it. */
export function propText(resource: DavResource, namespace: string, name: string): string | undefined {
  return textOf(resource.props.get(propKey(namespace, name)))?.trim() || undefined;
}

export function propHrefs(resource: DavResource, namespace: string, name: string): string[] {
  const element = resource.props.get(propKey(namespace, name));
  if (!element) return [];
  return childElements(element, 'href', [DAV_NS]).flatMap((h) => textOf(h)?.trim() || []);
}
