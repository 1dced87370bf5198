/**
 * Signatures signRequest would not make: without t= or x=, with l=, or with tags chosen by the
 * test, to see how the receiver judges what other implementations send.
 */
import { createPrivateKey, sign } from 'node:crypto';
import { bodyHash, type SigningKey, signedData } from './api.js';
import type { Headers } from './fixtures.js';

export function signWithTags(
  headers: Headers,
  body: string | Buffer,
  key: SigningKey,
  tags: { readonly t?: number; readonly x?: number; readonly l?: number },
): string {
  const names = ['Originator', 'Recipient', 'Content-Type', 'iSchedule-Version', 'iSchedule-Message-ID'];
  const optional = [
    tags.t === undefined ? '' : `t=${tags.t}; `,
    tags.x === undefined ? '' : `x=${tags.x}; `,
    tags.l === undefined ? '' : `l=${tags.l}; `,
  ];
  const unsigned =
    `v=1; d=${key.domain}; s=${key.selector}; ${optional.join('')}a=rsa-sha256; q=dns/txt; ` +
    `c=ischedule-relaxed/simple; h=${names.join(':')}; bh=${bodyHash(Buffer.from(body), 'sha256')}; b=`;
  const data = Buffer.from(signedData(headers, names, unsigned), 'latin1');
  return unsigned + sign('sha256', data, createPrivateKey(String(key.privateKey))).toString('base64');
}
