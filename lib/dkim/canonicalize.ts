/**
 * iSchedule's canonicalization: `ischedule-relaxed` for headers (draft -05 §5.4, relaxed plus
 * merging of same-name fields and removal of whitespace around commas) and DKIM `simple` for the
 * body (RFC 6376 §3.4.3).
 */
import { createHash } from 'node:crypto';

/** A request header list: `[name, value]` pairs in the order received or sent. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

const LWS_RUN = /[ \t\r\n]+/g;
const EDGE_LWS = /^ | $/g;
const COMMA_LWS = / ?, ?/g;

/** Canonicalizes one (already merged) header value: unfold, collapse, trim, no WSP around commas. */
export function canonicalizeHeaderValue(value: string): string {
  return value.replace(LWS_RUN, ' ').replace(EDGE_LWS, '').replace(COMMA_LWS, ',');
}

/**
 * The canonical `name:value\r\n` line for every field of that name, merged with commas in the
 * order received. Returns '' when the header is absent: an absent header contributes nothing.
 */
export function canonicalizeHeader(name: string, values: readonly string[]): string {
  if (values.length === 0) return '';
  return `${name.toLowerCase()}:${canonicalizeHeaderValue(values.join(','))}\r\n`;
}

// The b= tag's value (not its name, not the whitespace around it), wherever it stands.
const B_VALUE = /(^|;)([ \t\r\n]*b[ \t\r\n]*=[ \t\r\n]*)[^;]*?([ \t\r\n]*)(?=;|$)/;

/** Cuts the value of `b=` out of a DKIM-Signature value, keeping the tag name and `=`. */
export function cutSignatureValue(dkimSignature: string): string {
  return dkimSignature.replace(B_VALUE, '$1$2$3');
}

/** The canonical DKIM-Signature line, last in the signed data: `b=` value cut, no trailing CRLF. */
export function canonicalizeSignatureHeader(dkimSignature: string): string {
  return `dkim-signature:${canonicalizeHeaderValue(cutSignatureValue(dkimSignature))}`;
}

/** All values of one header, case-insensitively, in received order. */
export function headerValues(headers: HeaderList, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [n, v] of headers) if (n.toLowerCase() === wanted) values.push(v);
  return values;
}

/**
 * The bytes a DKIM signature covers: each `h=` header canonicalized (absent ones skipped), then
 * the DKIM-Signature itself with its `b=` value cut.
 */
export function signedData(
  headers: HeaderList,
  signedNames: readonly string[],
  dkimSignature: string,
): string {
  const byName = groupByName(headers);
  let data = '';
  for (const name of signedNames) data += canonicalizeHeader(name, byName.get(name.toLowerCase()) ?? []);
  return data + canonicalizeSignatureHeader(dkimSignature);
}

function groupByName(headers: HeaderList): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const list = byName.get(key);
    if (list) list.push(value);
    else byName.set(key, [value]);
  }
  return byName;
}

/** Length of the body once trailing empty lines are removed (simple body canonicalization). */
function contentLength(body: Uint8Array): number {
  let end = body.length;
  while (end >= 2 && body[end - 2] === 0x0d && body[end - 1] === 0x0a) end -= 2;
  return end;
}

const CRLF = Buffer.from('\r\n');

/** Octets in the canonical body (what an `l=` tag counts). */
export function canonicalBodyLength(body: Uint8Array): number {
  return contentLength(body) + CRLF.length;
}

/** The `simple` canonical body: the content, trailing empty lines removed, ending in one CRLF. */
export function canonicalizeBody(body: Uint8Array): Buffer {
  return Buffer.concat([body.subarray(0, contentLength(body)), CRLF]);
}

/** Base64 hash of the canonical body (`bh=`), computed without copying the body. */
export function bodyHash(body: Uint8Array, hash: 'sha1' | 'sha256'): string {
  return createHash(hash)
    .update(body.subarray(0, contentLength(body)))
    .update(CRLF)
    .digest('base64');
}
