/**
 * Reading untrusted XML from peers: @xmldom/xmldom, elements matched by (namespace, local name)
 * because peers choose their own prefixes, DOCTYPEs refused (no entity expansion of any kind).
 */
import { DOMParser, type Element, type Node } from '@xmldom/xmldom';

export const ISCHEDULE_NS = 'urn:ietf:params:xml:ns:ischedule';
export const DAV_NS = 'DAV:';

export class XmlError extends Error {
  override name = 'XmlError';
}

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;

/** Parses a document and returns its root element; throws XmlError on anything malformed. */
export function parseXml(text: string): Element {
  if (/<!DOCTYPE/i.test(text)) throw new XmlError('XML with a DOCTYPE is refused');
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
  return text.replace(/[&<>"\r]/g, (c) => ESCAPES[c] ?? c);
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n';
