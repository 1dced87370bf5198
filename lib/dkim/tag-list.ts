/**
 * DKIM tag lists (RFC 6376 §3.2), the syntax shared by the DKIM-Signature header and key records:
 *   tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 */
import { ExpressIScheduleError } from '../errors.js';
import { printable } from '../text.js';

/** A DKIM tag list (a signature, a key record) that breaks RFC 6376's syntax. */
export class TagListError extends ExpressIScheduleError<'malformed-tag-list'> {
  override name = 'TagListError';
  constructor(message: string) {
    super('malformed-tag-list', message);
  }
}

/** A parsed tag list: tag name to value, in order. */
export type TagList = ReadonlyMap<string, string>;

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const EQUALS = 0x3d;
const SEMICOLON = 0x3b;

/** Anything but VALCHAR (%x21-3A / %x3C-7E) and FWS; `g` so that `lastIndex` says where. */
const VALUE_END = /[^!-:<-~ \t\r\n]/g;
const FWS = /[ \t\r\n]/;
const hasFws = (value: string) => FWS.test(value);
const isFws = (c: number) => c === SPACE || c === TAB || c === CR || c === LF;
const isAlpha = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isNameChar = (c: number) => isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f;

/**
 * Parses a tag list into name -> value (surrounding whitespace removed, inner whitespace kept).
 * Unknown tags are kept, so callers ignore them by not asking; a duplicate tag or any syntax
 * error throws a TagListError.
 *
 * `base64Tags`: tags whose values the caller decodes with decodeBase64Tag or checks with
 * base64TagText, which refuse every character the tag syntax refuses (and more): their values
 * are found by their ";" alone, not scanned twice. A signature's `b=` is most of its length.
 */
export function parseTagList(text: string, base64Tags: readonly string[] = []): TagList {
  const { names, values } = scanTagList(text, base64Tags);
  const tags = new Map<string, string>();
  for (let i = 0; i < names.length; i++) tags.set(names[i]!, values[i]!);
  return tags;
}

/** A tag list's names and their values, in order. */
export interface TagEntries {
  readonly names: readonly string[];
  readonly values: readonly string[];
}

/**
 * parseTagList's names and values, without the Map: the DKIM-Signature is scanned on every
 * inbound request, and a Map of its dozen tags grew its table twice each time (~500 bytes more
 * garbage a request). One pass over the text. Read a value with tagValue.
 */
export function scanTagList(text: string, base64Tags: readonly string[]): TagEntries {
  const names: string[] = [];
  const values: string[] = [];
  const length = text.length;
  let i = 0;
  for (;;) {
    while (i < length && isFws(text.charCodeAt(i))) i++;
    // One trailing ";" (followed only by FWS) is allowed by the grammar.
    if (i === length && names.length > 0) return { names, values };
    const nameStart = i;
    if (i === length || !isAlpha(text.charCodeAt(i))) {
      throw new TagListError(`invalid tag name at "${printable(text.slice(nameStart), 40)}"`);
    }
    i++;
    while (i < length && isNameChar(text.charCodeAt(i))) i++;
    const name = text.slice(nameStart, i);
    while (i < length && isFws(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== EQUALS) throw new TagListError(`tag "${printable(name, 40)}" has no "="`);
    i++;
    while (i < length && isFws(text.charCodeAt(i))) i++;
    const valueStart = i;
    i = base64Tags.includes(name) ? semicolonOrEnd(text, i) : checkedValueEnd(text, i, name);
    let valueEnd = i;
    while (valueEnd > valueStart && isFws(text.charCodeAt(valueEnd - 1))) valueEnd--;
    if (names.includes(name)) throw new TagListError(`duplicate tag "${name}"`);
    names.push(name);
    values.push(text.slice(valueStart, valueEnd));
    if (i === length) return { names, values };
    i++; // past ";"
  }
}

/** The value of tag `name` in a scanned tag list, or undefined. */
export function tagValue(tags: TagEntries, name: string): string | undefined {
  const at = tags.names.indexOf(name);
  return at < 0 ? undefined : tags.values[at];
}

function semicolonOrEnd(text: string, from: number): number {
  const semicolon = text.indexOf(';', from);
  return semicolon < 0 ? text.length : semicolon;
}

/** Where a value ends: the first octet that is neither VALCHAR nor FWS must be its ";". */
function checkedValueEnd(text: string, from: number, name: string): number {
  VALUE_END.lastIndex = from;
  if (!VALUE_END.test(text)) return text.length;
  const end = VALUE_END.lastIndex - 1;
  if (text.charCodeAt(end) !== SEMICOLON)
    throw new TagListError(`invalid character in the value of tag "${name}"`);
  return end;
}

const FWS_ALL = /[ \t\r\n]+/g;
const EDGE_FWS = /^[ \t\r\n]+|[ \t\r\n]+$/g;

/** Decodes a base64 tag value (b=, bh=, p=), ignoring the whitespace RFC 6376 allows inside it. */
export function decodeBase64Tag(name: string, value: string): Buffer {
  // Tried as it stands first (whitespace inside is rare): whitespace fails the length check
  // below just as a character outside the alphabet does, and then it is taken out.
  const decoded =
    decodedIfValid(value) ?? (hasFws(value) ? decodedIfValid(value.replace(FWS_ALL, '')) : undefined);
  if (decoded === undefined) throw new TagListError(`tag "${name}" is not valid base64`);
  return decoded;
}

/**
 * A base64 tag value as compact text (whitespace RFC 6376 allows inside it removed), checked
 * exactly as decodeBase64Tag checks it but not decoded: for a value compared as text (bh=, with
 * the digest's base64).
 */
export function base64TagText(name: string, value: string): string {
  if (isBase64(value)) return value;
  const compact = hasFws(value) ? value.replace(FWS_ALL, '') : value;
  if (!isBase64(compact)) throw new TagListError(`tag "${name}" is not valid base64`);
  return compact;
}

/** What Buffer.from decodes in full: both alphabets (Node reads "-" and "_" too), padding only at the end. */
const BASE64_TEXT = /^[A-Za-z0-9+/_-]*={0,2}$/;
const isBase64 = (compact: string) => compact.length % 4 === 0 && BASE64_TEXT.test(compact);

function decodedIfValid(compact: string): Buffer | undefined {
  // Node decodes a character above U+00FF by its low byte ("\u{65937}" reads as "U7"): any
  // character outside ASCII is refused first, by its UTF-8 length (quicker than a scan).
  if (compact.length % 4 !== 0 || Buffer.byteLength(compact, 'utf8') !== compact.length) return undefined;
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  const decoded = Buffer.from(compact, 'base64');
  // Buffer.from skips characters outside the alphabet (whitespace too) and stops at "=": any
  // of them leaves the decoded length short.
  if (decoded.length !== (compact.length / 4) * 3 - padding) return undefined;
  return decoded;
}

/** Splits a colon-separated tag value (h=, q=, s=, key h=), trimming each item. */
export function splitColonList(value: string): string[] {
  const items = value.split(':');
  return hasFws(value) ? items.map((item) => item.replace(EDGE_FWS, '')) : items;
}
