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
  // The length check spares most toLowerCase calls: this runs several times per request.
  for (const [n, v] of headers) if (n.length === wanted.length && n.toLowerCase() === wanted) values.push(v);
  return values;
}
