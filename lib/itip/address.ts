/**
 * Calendar user addresses (CUAs). The draft does not say how to compare them; like DAViCal and
 * EGroupware we compare the scheme and a mailto address case-insensitively.
 */

const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"{}|\\^`]+$/;
const MAILTO =
  /^mailto:([^@\s,;:<>()[\]\\"]+)@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)$/i;

/** Whether the text is a usable calendar user address (an absolute URI; mailto must be well-formed). */
export function isCalendarAddress(address: string): boolean {
  if (!ABSOLUTE_URI.test(address) || address.length > 2048) return false;
  return !/^mailto:/i.test(address) || MAILTO.test(address);
}

/** The comparison key of an address: scheme lower-cased, and the whole address for mailto. */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim();
  const colon = trimmed.indexOf(':');
  if (colon < 0) return trimmed.toLowerCase();
  const scheme = trimmed.slice(0, colon).toLowerCase();
  const rest = trimmed.slice(colon + 1);
  return scheme === 'mailto' ? `mailto:${rest.toLowerCase()}` : `${scheme}:${rest}`;
}

/** Whether two calendar addresses name the same user (mailto: compared without case). */
export function sameAddress(a: string, b: string): boolean {
  return normalizeAddress(a) === normalizeAddress(b);
}

/** The domain of a mailto address, lower-cased; undefined for other schemes. */
export function addressDomain(address: string): string | undefined {
  const match = MAILTO.exec(address.trim());
  return match?.[2]?.toLowerCase();
}

/** Whether `domain` is `parent` or one of its sub-domains. */
export function withinDomain(domain: string, parent: string): boolean {
  const d = domain.toLowerCase().replace(/\.$/, '');
  const p = parent.toLowerCase().replace(/\.$/, '');
  return d === p || d.endsWith(`.${p}`);
}
