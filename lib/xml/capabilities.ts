/**
 * The capabilities document (draft -05 §2.3): built from a receiver's options, and read
 * tolerantly from what real receivers serve (§2.6).
 */
import type { Element } from '@xmldom/xmldom';
import type { Mutable } from '../text.js';
import {
  childElements,
  escapeXml,
  firstChild,
  ISCHEDULE_NS,
  parseXml,
  textOf,
  XML_DECLARATION,
  XmlError,
} from './document.js';

/** A calendar data type the receiver accepts. */
export interface CalendarDataType {
  readonly contentType: string;
  readonly version: string;
}

/** A receiver's capabilities document (draft -05 §6), parsed. */
export interface Capabilities {
  /** Changes whenever senders must reload (also sent as `iSchedule-Capabilities`). */
  readonly serialNumber?: number;
  readonly versions: readonly string[];
  /** Component name -> accepted METHODs; an empty list means any METHOD. */
  readonly schedulingMessages: Readonly<Record<string, readonly string[]>>;
  readonly calendarDataTypes: readonly CalendarDataType[];
  readonly attachments: { readonly inline: boolean; readonly external: boolean };
  readonly rscales?: readonly string[];
  readonly maxContentLength?: number;
  /** iCalendar UTC DATE-TIME, e.g. 19910101T000000Z. */
  readonly minDateTime?: string;
  readonly maxDateTime?: string;
  readonly maxInstances?: number;
  readonly maxRecipients?: number;
  readonly administrator?: string;
  /** Set when the receiver served the old draft -01 `capability-set` (DAViCal, EGroupware). */
  readonly revision?: 'draft-01';
}

/** Serializes capabilities as an `IS:query-result` document. */
export function buildCapabilities(caps: Capabilities): string {
  return capabilitiesDocument(caps, CURRENT);
}

/**
 * The same capabilities in draft -01's schema (`IS:query-result/IS:capability-set`), which
 * draft -01 senders (DAViCal) read from `?query=capabilities`.
 */
export function buildDraft01Capabilities(caps: Capabilities): string {
  return capabilitiesDocument(caps, DRAFT01);
}

/** How each revision names the parts of its document. */
interface Schema {
  readonly root: string;
  readonly versions: string;
  readonly messages: string;
  readonly component: string;
  readonly types: string;
  readonly attachments: string;
  readonly inline: string;
  readonly external: string;
  /** -05 only: serial-number and rscales. */
  readonly current: boolean;
}

const CURRENT: Schema = {
  root: 'capabilities',
  versions: 'versions',
  messages: 'scheduling-messages',
  component: 'component',
  types: 'calendar-data-types',
  attachments: 'attachments',
  inline: 'inline',
  external: 'external',
  current: true,
};

const DRAFT01: Schema = {
  root: 'capability-set',
  versions: 'supported-version-set',
  messages: 'supported-scheduling-message-set',
  component: 'comp',
  types: 'supported-calendar-data-type',
  attachments: 'supported-attachment-values',
  inline: 'inline-attachment',
  external: 'external-attachment',
  current: false,
};

function capabilitiesDocument(caps: Capabilities, schema: Schema): string {
  const lines: string[] = [];
  const element = (name: string, value: string | number | undefined) => {
    if (value !== undefined) lines.push(`    <${name}>${escapeXml(String(value))}</${name}>`);
  };
  if (schema.current) element('serial-number', caps.serialNumber);
  const versions = caps.versions.map((v) => `<version>${escapeXml(v)}</version>`).join('');
  lines.push(`    <${schema.versions}>${versions}</${schema.versions}>`);
  lines.push(`    <${schema.messages}>`);
  for (const [component, methods] of Object.entries(caps.schedulingMessages)) {
    const inner = methods.map((m) => `<method name="${escapeXml(m)}"/>`).join('');
    lines.push(`      <${schema.component} name="${escapeXml(component)}">${inner}</${schema.component}>`);
  }
  lines.push(`    </${schema.messages}>`);
  const types = caps.calendarDataTypes
    .map(
      (t) =>
        `<calendar-data-type content-type="${escapeXml(t.contentType)}" version="${escapeXml(t.version)}"/>`,
    )
    .join('');
  lines.push(`    <${schema.types}>${types}</${schema.types}>`);
  const inline = caps.attachments.inline ? `<${schema.inline}/>` : '';
  const external = caps.attachments.external ? `<${schema.external}/>` : '';
  lines.push(`    <${schema.attachments}>${inline}${external}</${schema.attachments}>`);
  if (schema.current && caps.rscales)
    lines.push(
      `    <rscales>${caps.rscales.map((r) => `<rscale>${escapeXml(r)}</rscale>`).join('')}</rscales>`,
    );
  if (!schema.current)
    lines.push(
      '    <supported-recipient-uri-scheme-set><scheme>mailto</scheme></supported-recipient-uri-scheme-set>',
    );
  element('max-content-length', caps.maxContentLength);
  element('min-date-time', caps.minDateTime);
  element('max-date-time', caps.maxDateTime);
  element('max-instances', caps.maxInstances);
  element('max-recipients', caps.maxRecipients);
  element('administrator', caps.administrator);
  return `${XML_DECLARATION}<query-result xmlns="${ISCHEDULE_NS}">\n  <${schema.root}>\n${lines.join('\n')}\n  </${schema.root}>\n</query-result>\n`;
}

/**
 * Reads a capabilities document. Tolerant of what shipping receivers send: Apple's `<version>`
 * in place of `<serial-number>`, Bedework's `calendar-data`, `version` "1" for "1.0", missing,
 * empty or reordered children (a missing limit is no limit). Throws XmlError when the document
 * is not a capabilities document at all.
 */
export function parseCapabilities(xml: string): Capabilities {
  const root = parseXml(xml);
  if (root.namespaceURI !== ISCHEDULE_NS || root.localName !== 'query-result') {
    throw new XmlError(`expected IS:query-result, got ${root.localName ?? root.nodeName}`);
  }
  const caps = firstChild(root, 'capabilities');
  if (!caps) {
    const old = firstChild(root, 'capability-set');
    if (old) return parseDraft01Capabilities(old);
    throw new XmlError('IS:query-result has no IS:capabilities');
  }

  const serial = positiveInteger(textOf(firstChild(caps, 'serial-number')) ?? directVersion(caps));
  const attachmentsElement = firstChild(caps, 'attachments');
  const rscalesElement = firstChild(caps, 'rscales');
  const result: Mutable<Capabilities> = {
    versions: readVersions(firstChild(caps, 'versions')),
    schedulingMessages: readSchedulingMessages(firstChild(caps, 'scheduling-messages'), 'component'),
    calendarDataTypes: dataTypes(firstChild(caps, 'calendar-data-types')),
    attachments: {
      inline: attachmentsElement ? Boolean(firstChild(attachmentsElement, 'inline')) : false,
      external: attachmentsElement ? Boolean(firstChild(attachmentsElement, 'external')) : true,
    },
  };
  if (serial !== undefined) result.serialNumber = serial;
  if (rscalesElement)
    result.rscales = childElements(rscalesElement, 'rscale').map((r) => (textOf(r) ?? '').trim());
  readLimits(caps, result);
  return result;
}

/**
 * Draft -01's `capability-set` (spec digest §2.5, as DAViCal serves it): a `comp` without
 * `method` children accepts every METHOD.
 */
function parseDraft01Capabilities(caps: Element): Capabilities {
  const attachments = firstChild(caps, 'supported-attachment-values');
  const result: Mutable<Capabilities> = {
    revision: 'draft-01',
    versions: readVersions(firstChild(caps, 'supported-version-set')),
    schedulingMessages: readSchedulingMessages(firstChild(caps, 'supported-scheduling-message-set'), 'comp'),
    calendarDataTypes: dataTypes(
      firstChild(caps, 'supported-calendar-data-type') ?? firstChild(caps, 'supported-calendar-data'),
    ),
    attachments: {
      inline: attachments ? Boolean(firstChild(attachments, 'inline-attachment')) : false,
      external: attachments ? Boolean(firstChild(attachments, 'external-attachment')) : true,
    },
  };
  readLimits(caps, result);
  return result;
}

/** The versions listed ("1" read as "1.0"); none listed is 1.0. */
function readVersions(parent: Element | undefined): string[] {
  const versions = parent
    ? childElements(parent, 'version').map((v) => normalizeVersion(textOf(v) ?? ''))
    : [];
  return versions.length ? versions : ['1.0'];
}

/** Component name -> METHODs, from `<component>` (-05) or `<comp>` (-01) children. */
function readSchedulingMessages(
  parent: Element | undefined,
  componentElement: string,
): Record<string, string[]> {
  const messages: Record<string, string[]> = {};
  for (const component of parent ? childElements(parent, componentElement) : []) {
    const name = component.getAttribute('name')?.toUpperCase();
    if (!name) continue;
    messages[name] = childElements(component, 'method')
      .map((m) => m.getAttribute('name')?.toUpperCase() ?? '')
      .filter(Boolean);
  }
  return messages;
}

/** The calendar data types listed (`calendar-data-type`, or Bedework's and -00's `calendar-data`). */
function dataTypes(parent: Element | undefined): CalendarDataType[] {
  if (!parent) return [{ contentType: 'text/calendar', version: '2.0' }];
  return [...childElements(parent, 'calendar-data-type'), ...childElements(parent, 'calendar-data')].map(
    (t) => ({
      contentType: t.getAttribute('content-type') || 'text/calendar',
      version: t.getAttribute('version') || '2.0',
    }),
  );
}

/** The limits and the administrator, named alike in every revision; a missing one is no limit. */
function readLimits(caps: Element, result: Mutable<Capabilities>): void {
  const limits = [
    ['maxContentLength', 'max-content-length'],
    ['maxInstances', 'max-instances'],
    ['maxRecipients', 'max-recipients'],
  ] as const;
  for (const [key, name] of limits) {
    const value = positiveInteger(textOf(firstChild(caps, name)));
    if (value !== undefined) result[key] = value;
  }
  for (const [key, name] of [
    ['minDateTime', 'min-date-time'],
    ['maxDateTime', 'max-date-time'],
    ['administrator', 'administrator'],
  ] as const) {
    const value = textOf(firstChild(caps, name))?.trim();
    if (value) result[key] = value;
  }
}

/** Apple writes the serial number as a `<version>` child of `<capabilities>`. */
function directVersion(caps: ReturnType<typeof parseXml>): string | undefined {
  return textOf(firstChild(caps, 'version'));
}

function positiveInteger(text: string | undefined): number | undefined {
  const trimmed = text?.trim();
  if (!trimmed || !/^\d{1,15}$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return value > 0 ? value : undefined;
}

function normalizeVersion(version: string): string {
  const trimmed = version.trim();
  return /^\d+$/.test(trimmed) ? `${trimmed}.0` : trimmed;
}
