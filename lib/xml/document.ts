/**
 * Reading untrusted XML from peers: @xmldom/xmldom, elements matched by (namespace, local name)
 * because peers choose their own prefixes, DOCTYPEs refused (no entity expansion of any kind).
 */

import { DOMParser, type Element, type Node } from '@xmldom/xmldom';
import { ExpressIScheduleError } from '../errors.js';

/** The iSchedule XML namespace. */
export const ISCHEDULE_NS = 'urn:ietf:params:xml:ns:ischedule';
export const DAV_NS = 'DAV:';

/** An XML document (a peer's capabilities, response or error) that cannot be read. */
export class XmlError extends ExpressIScheduleError<'malformed-xml'> {
  override name = 'XmlError';
  constructor(message: string) {
    super('malformed-xml', message);
  }
}

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;

/** How large a peer's document may be: xmldom's cost grows with elements and depth. */
export interface XmlBounds {
  readonly maxElements: number;
  readonly maxDepth: number;
  readonly maxAttributes: number;
}

export const DEFAULT_XML_BOUNDS: XmlBounds = { maxElements: 2000, maxDepth: 16, maxAttributes: 16 };

/**
 * Parses a document and returns its root element; throws XmlError on anything malformed or
 * beyond the bounds (checked by a linear scan before xmldom builds anything).
 */
export function parseXml(text: string, bounds: XmlBounds = DEFAULT_XML_BOUNDS): Element {
  if (/<!DOCTYPE/i.test(text)) throw new XmlError('XML with a DOCTYPE is refused');
  checkShape(text, bounds);
  let root: Element | null;
  try {
    const parser = new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') throw new XmlError(message);
      },
    });
    root = parser.parseFromString(text, 'application/xml').documentElement;
  } catch (error) {
    throw error instanceof XmlError ? error : new XmlError((error as Error).message);
  }
  if (!root) throw new XmlError('the document has no root element');
  return root;
}

/** Counts elements, nesting and attributes, skipping comments, CDATA and processing instructions. */
function checkShape(text: string, bounds: XmlBounds): void {
  let elements = 0;
  let depth = 0;
  for (let at = text.indexOf('<'); at >= 0; at = text.indexOf('<', at + 1)) {
    const skip = SKIPPED.find(([open]) => text.startsWith(open, at));
    if (skip) {
      const end = text.indexOf(skip[1], at + skip[0].length);
      if (end < 0) throw new XmlError(`an unterminated ${skip[0]}`);
      at = end + skip[1].length - 1;
      continue;
    }
    if (text[at + 1] === '!')
      throw new XmlError('XML declarations other than comments and CDATA are refused');
    // The tag runs to the first ">" outside quotes; its attributes are the "=" outside quotes.
    let attributes = 0;
    let quote = '';
    let end = at + 1;
    for (; end < text.length; end++) {
      const c = text[end];
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '=') attributes++;
      else if (c === '>') break;
    }
    if (end >= text.length) throw new XmlError('an unterminated tag');
    if (text[at + 1] === '/') depth--;
    else if (text[end - 1] !== '/') depth++;
    if (text[at + 1] !== '/' && ++elements > bounds.maxElements)
      throw new XmlError(`the document has more than ${bounds.maxElements} elements`);
    if (depth > bounds.maxDepth) throw new XmlError(`elements nest deeper than ${bounds.maxDepth}`);
    if (attributes > bounds.maxAttributes)
      throw new XmlError(`an element has more than ${bounds.maxAttributes} attributes`);
    at = end;
  }
}

const SKIPPED: ReadonlyArray<readonly [string, string]> = [
  ['<!--', '-->'],
  ['<![CDATA[', ']]>'],
  ['<?', '?>'],
];

export function isElement(
  node: Node | null | undefined,
  namespace: string,
  localName: string,
): node is Element {
  return (
    node?.nodeType === ELEMENT_NODE &&
    (node as Element).namespaceURI === namespace &&
    (node as Element).localName === localName
  );
}

/** Child elements, optionally only those with a given local name in one of the namespaces. */
export function childElements(
  parent: Element,
  localName?: string,
  namespaces: readonly string[] = [ISCHEDULE_NS],
): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType !== ELEMENT_NODE) continue;
    const element = node as Element;
    if (
      localName === undefined ||
      (element.localName === localName && namespaces.includes(element.namespaceURI ?? ''))
    ) {
      found.push(element);
    }
  }
  return found;
}

export function firstChild(
  parent: Element,
  localName: string,
  namespaces?: readonly string[],
): Element | undefined {
  return childElements(parent, localName, namespaces)[0];
}

/** The text of an element: its text and CDATA children, concatenated. */
export function textOf(element: Element | undefined): string | undefined {
  if (!element) return undefined;
  let text = '';
  for (let node = element.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === TEXT_NODE || node.nodeType === CDATA_SECTION_NODE) text += node.nodeValue ?? '';
  }
  return text;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\r': '&#13;',
};

/**
 * Escapes text for element content or a double-quoted attribute. CR is written as a character
 * reference so that iCalendar's CRLF line ends survive XML line-end normalization.
 */
export function escapeXml(text: string): string {
  // Most texts (addresses, statuses) need nothing: a test costs less than a replace finding nothing.
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPED, (c) => ESCAPES[c] ?? c) : text;
}

const NEEDS_ESCAPE = /[&<>"\r]/;
const ESCAPED = new RegExp(NEEDS_ESCAPE.source, 'g');

export const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n';
