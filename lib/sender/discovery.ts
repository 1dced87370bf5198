/**
 * Finding a domain's iSchedule receiver (draft -05 §1): configured overrides first, then SRV
 * `_ischedules._tcp.<domain>` in RFC 2782 order with the TXT `path=` beside it, else the
 * well-known path. Answers are cached by the DNS client for their TTL.
 */
import createDebug from 'debug';
import type { DnsResolver } from '../dns/client.js';
import { isDomainName } from '../dns/names.js';
import { orderSrv } from '../dns/srv.js';
import { isAddressLike } from '../net/address-policy.js';

const debug = createDebug('ischedule:sender:discovery');

export const WELL_KNOWN_PATH = '/.well-known/ischedule';
/** Receiver targets tried per domain at most. */
export const MAX_TARGETS = 3;

/** A domain's iSchedule receiver, as discovered. */
export interface Receiver {
  /** The recipient domain this receiver serves. */
  readonly domain: string;
  /** Where to send, best first: the next one is tried when a target refuses connections. */
  readonly urls: readonly URL[];
  /** How it was found. */
  readonly source: 'override' | 'srv';
}

export interface DiscoveryOptions {
  readonly dns: DnsResolver;
  /** Domain -> receiver URL (private deployments, tests); consulted before DNS. */
  readonly overrides: ReadonlyMap<string, URL>;
  /** Drop leading labels when a domain has no SRV record (draft MAY; default off). */
  readonly subdomainFallback: boolean;
}

/** The receiver for a domain, or undefined when the domain has no iSchedule service. */
export async function discoverReceiver(
  domain: string,
  options: DiscoveryOptions,
): Promise<Receiver | undefined> {
  const wanted = domain.toLowerCase().replace(/\.$/, '');
  const override = options.overrides.get(wanted);
  if (override) return { domain: wanted, urls: [override], source: 'override' };

  for (let candidate: string | undefined = wanted; candidate; candidate = parentDomain(candidate)) {
    const service = `_ischedules._tcp.${candidate}`;
    const records = await options.dns.srv(service);
    if (records.length > 0) {
      // A hostile or broken zone may name anything as a target: keep only host names, and only
      // a few of them (a send tries the next only when a target refuses connections).
      const targets = orderSrv(
        records.filter((r) => r.target === '.' || (isDomainName(r.target) && !isAddressLike(r.target))),
      ).slice(0, MAX_TARGETS);
      if (targets.length === 0) {
        debug('%s: SRV says no service (".")', service);
        return undefined;
      }
      const path = txtPath(await options.dns.txt(service).catch(() => [])) ?? WELL_KNOWN_PATH;
      const urls = targets.map(
        (t) => new URL(path, `https://${hostPort(t.target.replace(/\.$/, ''), t.port)}`),
      );
      debug('%s: %s', wanted, urls.map((u) => u.href).join(', '));
      return { domain: wanted, urls, source: 'srv' };
    }
    if (!options.subdomainFallback) break;
  }
  debug('%s: no _ischedules._tcp SRV record', wanted);
  return undefined;
}

/** `path=` from RFC 6763 key=value TXT strings; the first one wins. */
export function txtPath(records: readonly string[]): string | undefined {
  for (const record of records) {
    const match = /^path=(\/[!-~]*)$/i.exec(record.trim());
    if (match?.[1]) return match[1];
  }
  return undefined;
}

function parentDomain(domain: string): string | undefined {
  const dot = domain.indexOf('.');
  const parent = dot < 0 ? undefined : domain.slice(dot + 1);
  // Stop before a top-level domain: "com" has no iSchedule service.
  return parent?.includes('.') ? parent : undefined;
}

function hostPort(host: string, port: number): string {
  const bracketed = host.includes(':') ? `[${host}]` : host;
  return port === 443 ? bracketed : `${bracketed}:${port}`;
}
