/** Request headers as the package passes them around: `[name, value]` pairs, in order. */

/** A request header list: `[name, value]` pairs in the order received or sent. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** Node's `rawHeaders` (name, value, name, value, ...) as a header list. */
export function headerPairs(rawHeaders: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) pairs.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  return pairs;
}

/** All values of one header, case-insensitively, in received order. */
export function headerValues(headers: HeaderList, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [n, v] of headers) if (isHeaderNamed(n, wanted)) values.push(v);
  return values;
}

/**
 * Whether a field name is `lowerName` (lower-case), ignoring ASCII case as HTTP does. Compared
 * in place: this runs for every header of every request, and most names differ in length.
 */
export function isHeaderNamed(field: string, lowerName: string): boolean {
  if (field.length !== lowerName.length) return false;
  if (field === lowerName) return true;
  for (let i = 0; i < field.length; i++) {
    const c = field.charCodeAt(i);
    const folded = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    if (folded !== lowerName.charCodeAt(i)) return false;
  }
  return true;
}
