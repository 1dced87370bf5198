/**
 * The standalone server's JSON configuration: read, checked against ./config-schema.ts (every
 * problem names the key and says what is wrong) and resolved against the config file's folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type * as v from 'valibot';
import type { QueryMethod } from '../dkim/signature.js';
import { OptionsError } from '../errors.js';
import type { RetryPolicy } from '../outbox/attempt.js';
import type { IScheduleRouterOptions } from '../receiver/options.js';
import type { RateLimit, RateLimitOptions } from '../receiver/rate-limits.js';
import { parseOptions } from '../validation.js';
import { configFile } from './config-schema.js';
import type { InboxQuota } from './filesystem-adapter.js';

/**
 * A checked config file, paths resolved: what startServer runs. capabilities, policy, limits,
 * path, extraPaths and allowNetworks mean what they mean for the router; draft01Peers what it
 * means for the router and the client (the outbox) both.
 */
export interface ServerConfig
  extends Pick<
    IScheduleRouterOptions,
    'capabilities' | 'policy' | 'limits' | 'path' | 'extraPaths' | 'allowNetworks' | 'draft01Peers'
  > {
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
  /** Connections and their timeouts (HTTP_DEFAULTS for what is not given). */
  readonly http?: Partial<HttpLimits>;
  readonly inboxQuota?: InboxQuota;
  /** `redis://host:port/db`: replay memory shared with the other processes and hosts. */
  readonly redis?: string;
  /** Limits per client address and per signing domain (counted in Redis when `redis` is set). */
  readonly rateLimits?: Omit<RateLimitOptions, 'redis' | 'clientAddress'>;
  /** Where /metrics and /healthz are served (plain HTTP, apart from the receiver); default off. */
  readonly monitoring?: { readonly host: string; readonly port: number };
  /** Processes `ischedule serve` runs on the port (default 1). */
  readonly workers?: number;
  /** The outbox `serve` runs (default on; its journal under `dataDir/outbox`). */
  readonly outbox?: OutboxConfig;
  /** A CalDAV server to put iSchedule in front of (instead of the filesystem inbox). */
  readonly caldav?: CaldavConfig;
}

export interface CaldavConfig {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** Calendar address -> principal or calendar-home path (the users followed for sending). */
  readonly users?: Readonly<Record<string, string>>;
  /** A PEM CA certificate file to trust for the server. */
  readonly ca?: string;
  /** Milliseconds between syncs of the followed calendars (default 5000). */
  readonly syncInterval?: number;
  readonly timeout?: number;
}

export interface OutboxConfig {
  /** Run it (default true). */
  readonly enabled?: boolean;
  /** `q=` methods announced in signatures (default dns/txt, http/well-known). */
  readonly queryMethods?: readonly QueryMethod[];
  /** Domain -> receiver URL, consulted before DNS (private deployments, tests). */
  readonly overrides?: Readonly<Record<string, string>>;
  readonly retry?: RetryPolicy;
  readonly concurrency?: number;
  readonly perDomainConcurrency?: number;
  readonly perDomainRate?: RateLimit;
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

/** A problem in the config file, named by its key (`policy.clockSkew`). */
export class ConfigError extends OptionsError {
  override name = 'ConfigError';
}

/** Reads a config file; relative paths in it are relative to the file's folder. */
export function loadConfig(file: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`, '');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not JSON: ${(error as Error).message}`, '');
  }
  return parseConfig(json, path.dirname(path.resolve(file)));
}

/** Checks a parsed config file against its schema, then resolves paths against `baseDir`. */
export function parseConfig(json: unknown, baseDir: string): ServerConfig {
  // An array passes for an object with the schema library; say what it is.
  if (Array.isArray(json)) throw new ConfigError('the config must be a JSON object, not an array', '');
  const root: ConfigFile = parseOptions(
    configFile,
    json,
    '',
    (message, key) => new ConfigError(message, key),
    'the config',
  );
  const resolve = (p: string) => path.resolve(baseDir, p);

  const domains = root.domains.map((d) => d.toLowerCase());
  const inDomains = (user: string) => {
    const domain = user.slice(user.indexOf('@') + 1).toLowerCase();
    return domains.some((d) => domain === d || domain.endsWith(`.${d}`));
  };
  if (!root.users && !root.caldav)
    throw new ConfigError('users is required (or a caldav server whose users are served)', 'users');
  for (const [i, user] of (root.users ?? []).entries()) {
    if (!inDomains(user))
      throw new ConfigError(
        `users[${i}] "${user}" is not in any of domains (${domains.join(', ')})`,
        `users[${i}]`,
      );
  }
  for (const user of Object.keys(root.caldav?.users ?? {})) {
    if (!inDomains(user))
      throw new ConfigError(
        `caldav.users "${user}" is not in any of domains (${domains.join(', ')})`,
        'caldav.users',
      );
  }
  if ((root.caldav?.username === undefined) !== (root.caldav?.password === undefined))
    throw new ConfigError('caldav.username and caldav.password go together', 'caldav.username');

  const rawTls = root.tls ?? 'self-signed';
  let tls: ServerConfig['tls'];
  if (typeof rawTls === 'object') {
    tls = { cert: resolve(rawTls.cert), key: resolve(rawTls.key) };
    for (const key of ['cert', 'key'] as const)
      if (!existsSync(tls[key])) throw new ConfigError(`tls.${key}: no file at ${tls[key]}`, `tls.${key}`);
  } else {
    tls = rawTls;
  }

  const { signing, keys = {} } = root;
  return {
    listen: { host: root.listen?.host ?? '127.0.0.1', port: root.listen?.port ?? 8443 },
    http: { ...HTTP_DEFAULTS, ...root.http },
    tls,
    domains,
    users: root.users ?? [],
    dataDir: resolve(root.dataDir),
    signing: {
      domain: signing.domain.toLowerCase(),
      selector: signing.selector,
      privateKeyFile: resolve(signing.privateKeyFile ?? `${signing.selector}.private.pem`),
    },
    keys: {
      methods: keys.methods ?? ['dns/txt', 'http/well-known'],
      privateExchange: keys.privateExchange ?? {},
      ...(keys.dns && { dns: { servers: keys.dns.servers } }),
    },
    ...(root.allowNetworks && { allowNetworks: root.allowNetworks }),
    ...(root.inboxQuota && { inboxQuota: root.inboxQuota }),
    ...(root.redis && { redis: root.redis }),
    ...(root.workers !== undefined && { workers: root.workers }),
    ...(root.outbox && { outbox: root.outbox }),
    ...(root.caldav && {
      caldav: { ...root.caldav, ...(root.caldav.ca && { ca: resolve(root.caldav.ca) }) },
    }),
    ...(root.rateLimits && { rateLimits: root.rateLimits }),
    ...(root.monitoring && {
      monitoring: { host: root.monitoring.host ?? '127.0.0.1', port: root.monitoring.port },
    }),
    ...(root.limits && { limits: root.limits }),
    ...(root.capabilities && { capabilities: root.capabilities }),
    ...(root.policy && { policy: root.policy }),
    ...(root.path !== undefined && { path: root.path }),
    ...(root.extraPaths && { extraPaths: root.extraPaths }),
    ...(root.draft01Peers && { draft01Peers: root.draft01Peers }),
  };
}

type ConfigFile = v.InferOutput<typeof configFile>;
