/**
 * `IS:schedule-response` (per-recipient results) and `IS:error` (whole-request failures),
 * draft -05 §4: built strictly, read tolerantly (any prefix, `responsedescription` of -00/-01,
 * CDATA, `DAV:` error wrappers, unknown error elements).
 */
import type { Mutable } from '../text.js';
import {
  childElements,
  DAV_NS,
  DEFAULT_XML_BOUNDS,
  escapeXml,
  firstChild,
  ISCHEDULE_NS,
  parseXml,
  textOf,
  XML_DECLARATION,
  XmlError,
} from './document.js';

/** One recipient's answer in a schedule-response. */
export interface RecipientResponse {
  /** The recipient exactly as it appeared in the request. */
  readonly recipient: string;
  /** iTIP REQUEST-STATUS, e.g. `2.0;Success`. */
  readonly requestStatus: string;
  /** Returned calendar data (a VFREEBUSY REPLY for free-busy requests). */
  readonly calendarData?: string;
  /** The local name of the error element, when the receiver gave one. */
  readonly error?: string;
  readonly description?: string;
}

/** An IS:error document, parsed. */
export interface ErrorResponse {
  /** The local name of the error element, e.g. `verification-failed`. */
  readonly code: string;
  readonly description?: string;
}

/** The schedule-response document for per-recipient answers. */
export function buildScheduleResponse(responses: readonly RecipientResponse[]): string {
  const items = responses.map((r) => {
    const parts = [
      `    <recipient>${escapeXml(r.recipient)}</recipient>`,
      `    <request-status>${escapeXml(r.requestStatus)}</request-status>`,
    ];
    if (r.calendarData !== undefined)
      parts.push(`    <calendar-data>${escapeXml(r.calendarData)}</calendar-data>`);
    if (r.error) parts.push(`    <error><${r.error}/></error>`);
    if (r.description)
      parts.push(`    <response-description>${escapeXml(r.description)}</response-description>`);
    return `  <response>\n${parts.join('\n')}\n  </response>`;
  });
  return `${XML_DECLARATION}<schedule-response xmlns="${ISCHEDULE_NS}">\n${items.join('\n')}\n</schedule-response>\n`;
}

/** The IS:error document for a refused request. */
export function buildError(code: string, description: string): string {
  return (
    `${XML_DECLARATION}<error xmlns="${ISCHEDULE_NS}">\n  <${code}/>\n` +
    `  <response-description>${escapeXml(description)}</response-description>\n</error>\n`
  );
}

const DESCRIPTIONS = ['response-description', 'responsedescription', 'error-description'];

/**
 * Reads an `IS:schedule-response`. Throws XmlError if the document is something else, or larger
 * than a response for `recipients` recipients can be (each response holds a few elements).
 */
export function parseScheduleResponse(xml: string, recipients = 100): RecipientResponse[] {
  const root = parseXml(xml, { ...DEFAULT_XML_BOUNDS, maxElements: 16 + 16 * recipients });
  if (root.namespaceURI !== ISCHEDULE_NS || root.localName !== 'schedule-response') {
    throw new XmlError(`expected IS:schedule-response, got ${root.localName ?? root.nodeName}`);
  }
  return childElements(root, 'response').map((response) => {
    const result: Mutable<RecipientResponse> = {
      // -00 used a DAV:href inside recipient.
      recipient: (textOf(firstChild(response, 'recipient')) ?? '').trim(),
      requestStatus: (textOf(firstChild(response, 'request-status')) ?? '').trim(),
    };
    const recipient = firstChild(response, 'recipient');
    const href = recipient && firstChild(recipient, 'href', [DAV_NS]);
    if (href) result.recipient = (textOf(href) ?? '').trim();
    const data = textOf(firstChild(response, 'calendar-data'));
    if (data !== undefined) result.calendarData = data;
    const error = firstChild(response, 'error', [ISCHEDULE_NS, DAV_NS]);
    const code = error && childElements(error)[0]?.localName;
    if (code) result.error = code;
    const description = describe(response);
    if (description) result.description = description;
    return result;
  });
}

/** Reads an `IS:error` (or a `DAV:error` wrapping an iSchedule element, as Apple sends). */
export function parseError(xml: string): ErrorResponse {
  const root = parseXml(xml);
  if (root.localName !== 'error' || (root.namespaceURI !== ISCHEDULE_NS && root.namespaceURI !== DAV_NS)) {
    throw new XmlError(`expected IS:error, got ${root.localName ?? root.nodeName}`);
  }
  const code = childElements(root).find((e) => !DESCRIPTIONS.includes(e.localName ?? ''))?.localName;
  if (!code) throw new XmlError('the error document names no error element');
  const description = describe(root);
  return description ? { code, description } : { code };
}

function describe(parent: ReturnType<typeof parseXml>): string | undefined {
  const element = childElements(parent).find((e) => DESCRIPTIONS.includes(e.localName ?? ''));
  const text = textOf(element)?.trim();
  return text || undefined;
}
