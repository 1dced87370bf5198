/** An HTTP/1.1 request in wire form (as captured): request line, headers, CRLF CRLF, body. */
import type { HeaderList } from './headers.js';

export interface WireRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: HeaderList;
  readonly body: Buffer;
}

export function parseWireRequest(raw: Buffer): WireRequest {
  let end = raw.indexOf('\r\n\r\n');
  let separator = 4;
  if (end < 0) {
    end = raw.indexOf('\n\n');
    separator = 2;
  }
  if (end < 0) throw new Error('no blank line ends the headers: not an HTTP request');
  const lines = raw.subarray(0, end).toString('latin1').split(/\r?\n/);
  const [method = '', target = ''] = (lines.shift() ?? '').split(' ');
  if (!/^[A-Z]+$/.test(method)) throw new Error('the first line is not an HTTP request line');
  const headers: Array<[string, string]> = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      // A folded continuation line belongs to the previous field.
      const last = headers[headers.length - 1]!;
      last[1] += `\r\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a header line: "${line.slice(0, 40)}"`);
    headers.push([line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+/, '')]);
  }
  return { method, target, headers, body: raw.subarray(end + separator) };
}
