/** Domain names and TXT strings: the syntax every module that handles DNS data shares. */
import { getDomain } from 'tldts';
import { TextMemo } from '../lru.js';

// Letter-digit-hyphen labels of at most 63 octets, at most 253 octets in all, one trailing dot allowed.
const DOMAIN_NAME =
  /^(?=.{1,253}\.?$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$/;

/** Whether `name` is a host or domain name (case-insensitive; a trailing dot is allowed). */
export function isDomainName(name: string): boolean {
  return DOMAIN_NAME.test(name);
}

/** Splits text into DNS character-strings of at most 255 octets (RFC 1035 §3.3). */
export function splitTxtStrings(text: string, max = 255): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const strings: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += max) {
    strings.push(bytes.subarray(offset, offset + max).toString('utf8'));
  }
  return strings.length ? strings : [''];
}

/**
 * The registrable domain of a host name (`cal.example.co.uk` -> `example.co.uk`), by the Public
 * Suffix List with its private section (so `a.github.io` and `b.github.io` differ); undefined
 * for IP addresses, single labels and public suffixes themselves.
 */
export function registrableDomain(host: string): string | undefined {
  // A receiver asks for its peers' domains on every request (rate limits, concurrency, replay
  // groups): each name is looked up in the suffix list once, while the memo holds it.
  return registrableDomains.get(host, findRegistrableDomain) ?? undefined;
}

const registrableDomains = new TextMemo<string | null>();

function findRegistrableDomain(host: string): string | null {
  return getDomain(host.replace(/\.$/, ''), { allowPrivateDomains: true });
}
