/**
 * The standalone server's JSON configuration: read, checked and resolved against the config
 * file's folder. Every problem names the key and says what is wrong.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { QUERY_METHODS, type QueryMethod } from '../dkim/signature.js';
import { isDomainName } from '../dns/names.js';
import { isCalendarAddress } from '../itip/address.js';
import { AddressPolicy } from '../net/address-policy.js';
import type { CapabilityOptions, LimitOptions, PolicyOptions } from '../receiver/options.js';
import type { InboxQuota } from '../store/filesystem.js';

export interface ServerConfig {
  readonly listen: { readonly host: string; readonly port: number };
  /** `self-signed` (made once and kept in dataDir), PEM files, or false behind a TLS proxy. */
  readonly tls: 'self-signed' | { readonly cert: string; readonly key: string } | false;
  readonly domains: readonly string[];
  readonly users: readonly string[];
  readonly dataDir: string;
  readonly signing: { readonly domain: string; readonly selector: string; readonly privateKeyFile: string };
  readonly keys: {
    readonly methods: readonly QueryMethod[];
    readonly privateExchange: Readonly<Record<string, string>>;
    readonly dns?: { readonly servers: readonly string[] };
  };
  readonly capabilities?: CapabilityOptions;
  readonly policy?: PolicyOptions;
  /** The receiver's path (default /.well-known/ischedule), and more, e.g. a TXT path=. */
  readonly path?: string;
  readonly extraPaths?: readonly string[];
  /** Networks key servers may be in besides the public Internet (CIDR blocks or addresses). */
  readonly allowNetworks?: readonly string[];
  readonly limits?: LimitOptions;
  /** Connections and their timeouts (HTTP_DEFAULTS for what is not given). */
  readonly http?: Partial<HttpLimits>;
  readonly inboxQuota?: InboxQuota;
}

export interface HttpLimits {
  /** Connections open at once; more are closed as they come (default 512). */
  readonly maxConnections: number;
  /** Milliseconds for a client to send its request headers (default 10000). */
  readonly headersTimeout: number;
  /** Milliseconds for the whole request, body included (default 30000). */
  readonly requestTimeout: number;
  /** Milliseconds an idle kept-alive connection stays open (default 5000). */
  readonly keepAliveTimeout: number;
  /** Milliseconds for a TLS handshake (default 10000). */
  readonly tlsHandshakeTimeout: number;
}

export const HTTP_DEFAULTS: HttpLimits = {
  maxConnections: 512,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  tlsHandshakeTimeout: 10_000,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads a config file; relative paths in it are relative to the file's folder. */
export function loadConfig(file: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not JSON: ${(error as Error).message}`);
  }
  return parseConfig(json, path.dirname(path.resolve(file)));
}

type Json = Record<string, unknown>;

export function parseConfig(json: unknown, baseDir: string): ServerConfig {
  const root = object(json, '(the config)');
  const resolve = (p: string) => path.resolve(baseDir, p);

  const listen = object(root.listen ?? {}, 'listen');
  const host = string(listen.host ?? '127.0.0.1', 'listen.host');
  const port = listen.port ?? 8443;
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) {
    throw new ConfigError('listen.port must be an integer from 0 to 65535');
  }

  let tls: ServerConfig['tls'];
  const rawTls = root.tls ?? 'self-signed';
  if (rawTls === false || rawTls === 'self-signed') tls = rawTls;
  else {
    const t = object(rawTls, 'tls');
    tls = { cert: resolve(string(t.cert, 'tls.cert')), key: resolve(string(t.key, 'tls.key')) };
    for (const key of ['cert', 'key'] as const) {
      if (!existsSync(tls[key])) throw new ConfigError(`tls.${key}: no file at ${tls[key]}`);
    }
  }

  const domains = stringArray(root.domains, 'domains').map((d) => d.toLowerCase());
  if (domains.length === 0) throw new ConfigError('domains must list at least one calendar-user domain');
  for (const [i, d] of domains.entries())
    if (!isQualifiedDomain(d)) throw new ConfigError(`domains[${i}] "${d}" is not a domain name`);

  const users = stringArray(root.users, 'users');
  for (const [i, u] of users.entries()) {
    if (!isCalendarAddress(u) || !/^mailto:/i.test(u))
      throw new ConfigError(`users[${i}] "${u}" is not a mailto: calendar address`);
    const domain = u.slice(u.indexOf('@') + 1).toLowerCase();
    if (!domains.some((d) => domain === d || domain.endsWith(`.${d}`))) {
      throw new ConfigError(`users[${i}] "${u}" is not in any of domains (${domains.join(', ')})`);
    }
  }

  const dataDir = resolve(string(root.dataDir, 'dataDir'));
  const signingJson = object(root.signing, 'signing');
  const signing = {
    domain: string(signingJson.domain, 'signing.domain').toLowerCase(),
    selector: string(signingJson.selector, 'signing.selector'),
    privateKeyFile: resolve(
      string(signingJson.privateKeyFile ?? `${signingJson.selector}.private.pem`, 'signing.privateKeyFile'),
    ),
  };
  if (!isQualifiedDomain(signing.domain))
    throw new ConfigError(`signing.domain "${signing.domain}" is not a domain name`);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(signing.selector))
    throw new ConfigError(`signing.selector "${signing.selector}" is not a selector`);

  const keysJson = object(root.keys ?? {}, 'keys');
  const methods = stringArray(keysJson.methods ?? ['dns/txt', 'http/well-known'], 'keys.methods');
  for (const [i, m] of methods.entries()) {
    if (!QUERY_METHODS.includes(m as QueryMethod))
      throw new ConfigError(`keys.methods[${i}] "${m}" is not one of ${QUERY_METHODS.join(', ')}`);
  }
  const privateExchange: Record<string, string> = {};
  for (const [name, record] of Object.entries(
    object(keysJson.privateExchange ?? {}, 'keys.privateExchange'),
  )) {
    if (!/^[^.]+\._domainkey\..+$/.test(name)) {
      throw new ConfigError(`keys.privateExchange "${name}" must be named <selector>._domainkey.<domain>`);
    }
    privateExchange[name] = string(record, `keys.privateExchange["${name}"]`);
  }
  let dns: { servers: string[] } | undefined;
  if (keysJson.dns !== undefined) {
    const dnsJson = object(keysJson.dns, 'keys.dns');
    const servers = stringArray(dnsJson.servers, 'keys.dns.servers');
    for (const [i, s] of servers.entries()) {
      if (!/^(\[[0-9a-f:]+\]|[^:]+)(:\d{1,5})?$/i.test(s))
        throw new ConfigError(`keys.dns.servers[${i}] "${s}" is not host or host:port`);
    }
    dns = { servers };
  }

  const allowNetworks =
    root.allowNetworks === undefined ? undefined : stringArray(root.allowNetworks, 'allowNetworks');
  if (allowNetworks) {
    try {
      new AddressPolicy(allowNetworks);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  const http = { ...HTTP_DEFAULTS };
  for (const [key, value] of Object.entries(object(root.http ?? {}, 'http'))) {
    if (!(key in HTTP_DEFAULTS))
      throw new ConfigError(`http.${key} is not a setting (${Object.keys(HTTP_DEFAULTS).join(', ')})`);
    http[key as keyof HttpLimits] = positiveInteger(value, `http.${key}`);
  }
  let inboxQuota: InboxQuota | undefined;
  if (root.inboxQuota !== undefined) {
    const quota = object(root.inboxQuota, 'inboxQuota');
    for (const key of Object.keys(quota))
      if (key !== 'messages' && key !== 'bytes')
        throw new ConfigError(`inboxQuota.${key} is not a setting (messages, bytes)`);
    inboxQuota = {
      ...(quota.messages !== undefined && {
        messages: positiveInteger(quota.messages, 'inboxQuota.messages'),
      }),
      ...(quota.bytes !== undefined && { bytes: positiveInteger(quota.bytes, 'inboxQuota.bytes') }),
    };
  }

  return {
    listen: { host, port: port as number },
    http,
    ...(allowNetworks && { allowNetworks }),
    ...(inboxQuota && { inboxQuota }),
    ...(root.limits !== undefined && { limits: object(root.limits, 'limits') as LimitOptions }),
    tls,
    domains,
    users,
    dataDir,
    signing,
    keys: { methods: methods as QueryMethod[], privateExchange, ...(dns && { dns }) },
    ...(root.capabilities !== undefined && {
      capabilities: object(root.capabilities, 'capabilities') as CapabilityOptions,
    }),
    ...(root.policy !== undefined && { policy: object(root.policy, 'policy') as PolicyOptions }),
    ...(root.path !== undefined && { path: string(root.path, 'path') }),
    ...(root.extraPaths !== undefined && { extraPaths: stringArray(root.extraPaths, 'extraPaths') }),
  };
}

/** A domain of at least two labels, without the trailing dot. */
function isQualifiedDomain(name: string): boolean {
  return isDomainName(name) && name.includes('.') && !name.endsWith('.');
}

function object(value: unknown, key: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(`${key} must be an object`);
  return value as Json;
}

function string(value: unknown, key: string): string {
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${key} must be a non-empty string`);
  return value;
}

function positiveInteger(value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new ConfigError(`${key} must be a positive integer`);
  return value;
}

function stringArray(value: unknown, key: string): string[] {
  if (!Array.isArray(value)) throw new ConfigError(`${key} must be an array of strings`);
  return value.map((item, i) => string(item, `${key}[${i}]`));
}
