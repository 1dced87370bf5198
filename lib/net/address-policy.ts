/**
 * Which addresses the package may connect to for what arrives from the network. Names in
 * signatures, DNS answers, remote documents and redirects are untrusted: by default only public
 * unicast addresses are reachable, so a peer cannot make us open connections inside our own
 * network (SSRF). An operator lists other networks explicitly (`allowNetworks`).
 */
import net from 'node:net';

type Family = 'ipv4' | 'ipv6';

/** Special-purpose IPv4 blocks (RFC 6890 and successors): never reached without an allowance. */
const SPECIAL_IPV4: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

/** IPv6 outside global unicast (2000::/3), and the special blocks inside it. */
const SPECIAL_IPV6: ReadonlyArray<readonly [string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
  ['2001::', 23, 'reserved'],
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, 'reserved (6to4)'],
];

const byCategory = (entries: typeof SPECIAL_IPV4, family: Family) =>
  entries.map(([prefix, bits, category]) => {
    const list = new net.BlockList();
    list.addSubnet(prefix, bits, family);
    return [list, category] as const;
  });

const specialV4 = byCategory(SPECIAL_IPV4, 'ipv4');
const specialV6 = byCategory(SPECIAL_IPV6, 'ipv6');
const globalUnicastV6 = new net.BlockList();
globalUnicastV6.addSubnet('2000::', 3, 'ipv6');

/** IPv6 forms that carry an IPv4 address: judged by the address they carry. */
const EMBEDDED_IPV4 = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/** The category of a non-public address (`loopback`, `private`, ...), or undefined when public. */
export function specialPurpose(address: string): string | undefined {
  const family = net.isIP(address);
  if (family === 4) return specialV4.find(([list]) => list.check(address, 'ipv4'))?.[1];
  if (family !== 6) return 'not an IP address';
  const canonical = canonicalIpv6(address);
  const embedded = EMBEDDED_IPV4.exec(canonical);
  if (embedded) {
    const high = Number.parseInt(embedded[1]!, 16);
    const low = Number.parseInt(embedded[2]!, 16);
    const v4 = [high >> 8, high & 255, low >> 8, low & 255].join('.');
    const inner = specialPurpose(v4);
    return inner && `${inner} (IPv4 inside IPv6)`;
  }
  const special = specialV6.find(([list]) => list.check(canonical, 'ipv6'))?.[1];
  if (special) return special;
  return globalUnicastV6.check(canonical, 'ipv6') ? undefined : 'reserved';
}

function canonicalIpv6(address: string): string {
  // The WHATWG URL parser writes every IPv6 form the same way (lower case, :: compression).
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** Whether a host (a URL's hostname, with or without brackets) is an IP address literal. */
export function isIpLiteral(host: string): boolean {
  return net.isIP(unbracket(host)) !== 0;
}

/**
 * Whether a name is an address in disguise: a literal, or a form URL parsers read as IPv4
 * (`2130706433`, `0x7f.1`, `127.1`). Such a name must not be taken for a domain.
 */
export function isAddressLike(name: string): boolean {
  if (isIpLiteral(name)) return true;
  // URL parsers take a host for IPv4 when its last label is a number (decimal, octal, 0x hex).
  const labels = name.replace(/\.$/, '').split('.');
  return /^(?:0x[0-9a-f]*|[0-9]+)$/i.test(labels[labels.length - 1] ?? '');
}

export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The networks the package may reach besides the public Internet. Built from an operator's
 * list of CIDR blocks or single addresses (`127.0.0.0/8`, `::1`, `10.1.0.0/16`).
 */
export class AddressPolicy {
  readonly #allowed = new net.BlockList();
  /** The allowances as given, for messages. */
  readonly allowNetworks: readonly string[];

  constructor(allowNetworks: readonly string[] = [], optionName = 'allowNetworks') {
    if (!Array.isArray(allowNetworks))
      throw new TypeError(`${optionName} must be a list of networks, e.g. ["10.0.0.0/8"]`);
    for (const [index, entry] of allowNetworks.entries()) {
      const problem = addNetwork(this.#allowed, entry);
      if (problem) throw new TypeError(`${optionName}[${index}] "${String(entry)}" ${problem}`);
    }
    this.allowNetworks = [...allowNetworks];
  }

  /** Why `address` may not be connected to (`a loopback address`, ...), or undefined when it may. */
  refusal(address: string): string | undefined {
    const bare = unbracket(address);
    const family = net.isIP(bare);
    if (family === 0) return 'not an IP address';
    if (this.#allowed.check(bare, family === 4 ? 'ipv4' : 'ipv6')) return undefined;
    const category = specialPurpose(bare);
    return category && `a ${category} address`;
  }
}

/** What is wrong with one allowNetworks entry (`is not a network ...`), or undefined. */
export function networkProblem(entry: unknown): string | undefined {
  return addNetwork(new net.BlockList(), entry);
}

function addNetwork(list: net.BlockList, entry: unknown): string | undefined {
  if (typeof entry !== 'string') return 'is not a network (CIDR like 10.0.0.0/8, or one address)';
  const [address = '', bits, ...rest] = entry.trim().split('/');
  const family = net.isIP(address);
  if (family === 0 || rest.length > 0) return 'is not a network (CIDR like 10.0.0.0/8, or one address)';
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d{1,3}$/.test(bits ?? String(max)) || prefix > max) return `has a prefix outside 0-${max}`;
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return undefined;
}

/** The default: public unicast addresses only. */
export const PUBLIC_ONLY = new AddressPolicy();

/** A policy from an option value: a list of networks, a ready policy, or nothing (public only). */
export function addressPolicy(
  allow: readonly string[] | AddressPolicy | undefined,
  optionName?: string,
): AddressPolicy {
  if (allow === undefined) return PUBLIC_ONLY;
  return allow instanceof AddressPolicy ? allow : new AddressPolicy(allow, optionName);
}
