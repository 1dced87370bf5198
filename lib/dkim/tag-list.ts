/**
 * DKIM tag lists (RFC 6376 §3.2), the syntax shared by the DKIM-Signature header and key records:
 *   tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 */

export class TagListError extends Error {
  override name = 'TagListError';
}

export type TagList = ReadonlyMap<string, string>;

const TAG_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
// tval chars are printable ASCII but ';' (VALCHAR); whitespace may only separate tvals.
const TAG_VALUE = /^(?:[\x21-\x3a\x3c-\x7e]+(?:[ \t\r\n]+[\x21-\x3a\x3c-\x7e]+)*)?$/;
const FWS = /^[ \t\r\n]*$/;
const TRIM = /^[ \t\r\n]+|[ \t\r\n]+$/g;

/**
 * Parses a tag list into name -> value (surrounding whitespace removed, inner whitespace kept).
 * Unknown tags are kept, so callers ignore them by not asking; a duplicate tag or any syntax
 * error throws a TagListError.
 */
export function parseTagList(text: string): TagList {
  const tags = new Map<string, string>();
  const specs = text.split(';');
  // One trailing ";" (followed only by FWS) is allowed by the grammar.
  if (specs.length > 1 && FWS.test(specs[specs.length - 1] ?? '')) specs.pop();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq < 0) throw new TagListError(`tag without "=": "${printable(spec)}"`);
    const name = spec.slice(0, eq).replace(TRIM, '');
    const value = spec.slice(eq + 1).replace(TRIM, '');
    if (!TAG_NAME.test(name)) throw new TagListError(`invalid tag name "${printable(name)}"`);
    if (!TAG_VALUE.test(value)) throw new TagListError(`invalid value for tag "${name}"`);
    if (tags.has(name)) throw new TagListError(`duplicate tag "${name}"`);
    tags.set(name, value);
  }
  return tags;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes a base64 tag value (b=, bh=, p=), ignoring the whitespace RFC 6376 allows inside it. */
export function decodeBase64Tag(name: string, value: string): Buffer {
  const compact = value.replace(/[ \t\r\n]+/g, '');
  if (!BASE64.test(compact)) throw new TagListError(`tag "${name}" is not valid base64`);
  return Buffer.from(compact, 'base64');
}

/** Splits a colon-separated tag value (h=, q=, s=, key h=), trimming each item. */
export function splitColonList(value: string): string[] {
  return value.split(':').map((item) => item.replace(TRIM, ''));
}

function printable(text: string): string {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return shown.replace(/[^\x20-\x7e]/g, '?');
}
