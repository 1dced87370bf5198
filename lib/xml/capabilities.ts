/**
 * The capabilities document (draft -05 §2.3): built from a receiver's options, and read
 * tolerantly from what real receivers serve (§2.6).
 */
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
}

/** Serializes capabilities as an `IS:query-result` document. */
export function buildCapabilities(caps: Capabilities): string {
  const lines: string[] = [];
  const element = (name: string, value: string | number | undefined) => {
    if (value !== undefined) lines.push(`    <${name}>${escapeXml(String(value))}</${name}>`);
  };
  element('serial-number', caps.serialNumber);
  lines.push(
    `    <versions>${caps.versions.map((v) => `<version>${escapeXml(v)}</version>`).join('')}</versions>`,
  );
  lines.push('    <scheduling-messages>');
  for (const [component, methods] of Object.entries(caps.schedulingMessages)) {
    const inner = methods.map((m) => `<method name="${escapeXml(m)}"/>`).join('');
    lines.push(`      <component name="${escapeXml(component)}">${inner}</component>`);
  }
  lines.push('    </scheduling-messages>');
  const types = caps.calendarDataTypes
    .map(
      (t) =>
        `<calendar-data-type content-type="${escapeXml(t.contentType)}" version="${escapeXml(t.version)}"/>`,
    )
    .join('');
  lines.push(`    <calendar-data-types>${types}</calendar-data-types>`);
  lines.push(
    `    <attachments>${caps.attachments.inline ? '<inline/>' : ''}${caps.attachments.external ? '<external/>' : ''}</attachments>`,
  );
  if (caps.rscales)
    lines.push(
      `    <rscales>${caps.rscales.map((r) => `<rscale>${escapeXml(r)}</rscale>`).join('')}</rscales>`,
    );
  element('max-content-length', caps.maxContentLength);
  element('min-date-time', caps.minDateTime);
  element('max-date-time', caps.maxDateTime);
  element('max-instances', caps.maxInstances);
  element('max-recipients', caps.maxRecipients);
  element('administrator', caps.administrator);
  return `${XML_DECLARATION}<query-result xmlns="${ISCHEDULE_NS}">\n  <capabilities>\n${lines.join('\n')}\n  </capabilities>\n</query-result>\n`;
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
  if (!caps) throw new XmlError('IS:query-result has no IS:capabilities');

  const serial = positiveInteger(textOf(firstChild(caps, 'serial-number')) ?? directVersion(caps));
  const versionsElement = firstChild(caps, 'versions');
  const versions = versionsElement
    ? childElements(versionsElement, 'version').map((v) => normalizeVersion(textOf(v) ?? ''))
    : [];
  const schedulingMessages: Record<string, string[]> = {};
  const messages = firstChild(caps, 'scheduling-messages');
  for (const component of messages ? childElements(messages, 'component') : []) {
    const name = component.getAttribute('name')?.toUpperCase();
    if (!name) continue;
    schedulingMessages[name] = childElements(component, 'method')
      .map((m) => m.getAttribute('name')?.toUpperCase() ?? '')
      .filter(Boolean);
  }
  const typesElement = firstChild(caps, 'calendar-data-types');
  const calendarDataTypes = typesElement
    ? [
        ...childElements(typesElement, 'calendar-data-type'),
        ...childElements(typesElement, 'calendar-data'),
      ].map((t) => ({
        contentType: t.getAttribute('content-type') || 'text/calendar',
        version: t.getAttribute('version') || '2.0',
      }))
    : [{ contentType: 'text/calendar', version: '2.0' }];
  const attachmentsElement = firstChild(caps, 'attachments');
  const rscalesElement = firstChild(caps, 'rscales');
  const result: Mutable<Capabilities> = {
    versions: versions.length ? versions : ['1.0'],
    schedulingMessages,
    calendarDataTypes,
    attachments: {
      inline: attachmentsElement ? Boolean(firstChild(attachmentsElement, 'inline')) : false,
      external: attachmentsElement ? Boolean(firstChild(attachmentsElement, 'external')) : true,
    },
  };
  if (serial !== undefined) result.serialNumber = serial;
  if (rscalesElement)
    result.rscales = childElements(rscalesElement, 'rscale').map((r) => (textOf(r) ?? '').trim());
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
  return result;
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
