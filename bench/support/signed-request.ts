/** A signed iSchedule REQUEST's headers as the benches send them (private-exchange key). */
import { randomUUID } from 'node:crypto';
import { type SigningKey, signRequest } from '../../spec/support/api.js';

export function signedHeaders(options: {
  readonly recipient: string;
  readonly body: string | Buffer;
  readonly key: SigningKey;
  /** A Host header first, when the bench names the server. */
  readonly host?: string;
}): Array<[string, string]> {
  const headers: Array<[string, string]> = [
    ...(options.host ? [['Host', options.host] as [string, string]] : []),
    ['Originator', 'mailto:bernard@example.com'],
    ['Recipient', options.recipient],
    ['Content-Type', 'text/calendar; charset=utf-8; component=VEVENT; method=REQUEST'],
    ['iSchedule-Version', '1.0'],
    ['iSchedule-Message-ID', randomUUID()],
    ['Cache-Control', 'no-cache, no-transform'],
  ];
  headers.push([
    'DKIM-Signature',
    signRequest({ headers, body: options.body, key: options.key, queryMethods: ['private-exchange'] }),
  ]);
  return headers;
}
