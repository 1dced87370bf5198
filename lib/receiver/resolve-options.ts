/**
 * The router's options resolved once, when the factory runs: checked against ./schema.ts (a
 * mistake is an OptionsError at startup, not a 500 at the first request), defaults filled in,
 * signing keys parsed.
 */
import { ConcurrencyLimit } from '../concurrency.js';
import { keyRecord } from '../dkim/publish-key.js';
import { defaultKeys, type KeyResolver } from '../dkim/resolvers.js';
import { prepareSigningKey, type SigningKey } from '../dkim/sign.js';
import { type IScheduleMetrics, observedKeys } from '../metrics.js';
import { addressPolicy } from '../net/address-policy.js';
import { MemoryReplayStore } from '../stores/memory-replay-store.js';
import { checkOptions } from '../validation.js';
import type { Capabilities } from '../xml/capabilities.js';
import {
  DEFAULT_LIMITS,
  DEFAULT_SCHEDULING_MESSAGES,
  type IScheduleAdapter,
  type IScheduleRouterOptions,
  type LimitOptions,
  type Logger,
  type PolicyOptions,
} from './options.js';
import { RateLimits } from './rate-limits.js';
import type { ReplayStore } from './replay-store.js';
import { routerOptions } from './schema.js';

export interface ResolvedOptions<User> {
  readonly domains: readonly string[];
  readonly adapter: IScheduleAdapter<User>;
  readonly keys: KeyResolver;
  readonly capabilities: Capabilities & {
    readonly serialNumber: number;
    readonly maxContentLength: number;
    readonly maxRecipients: number;
  };
  readonly maxAge: number;
  readonly policy: Required<Omit<PolicyOptions, 'allowDomains'>> & {
    readonly allowDomains?: readonly string[];
  };
  readonly replayStore: ReplayStore;
  readonly limits: Required<LimitOptions>;
  readonly logger: Logger;
  readonly paths: readonly string[];
  readonly adapterTimeout: number;
  readonly rateLimits: RateLimits;
  readonly metrics?: IScheduleMetrics;
  /** Requests in progress per signing domain (limits.maxConcurrentPerDomain). */
  readonly concurrency: ConcurrencyLimit;
  /** `<domain>/<selector>` -> key records to serve at /.well-known/domainkey. */
  readonly publishedKeys: ReadonlyMap<string, readonly string[]>;
  /** Peer domains that may speak draft -01, lower-cased, without a final dot. */
  readonly draft01Peers: readonly string[];
}

/** Checks the options (a mistake is an OptionsError naming it) and fills in the defaults. */
export function resolveOptions<User>(options: IScheduleRouterOptions<User>): ResolvedOptions<User> {
  checkOptions(routerOptions, options, 'options');
  const domains = options.domains.map(plainDomain);
  const draft01Peers = (options.draft01Peers ?? []).map(plainDomain);
  const caps = options.capabilities ?? {};
  const schedulingMessages = Object.fromEntries(
    Object.entries(caps.schedulingMessages ?? DEFAULT_SCHEDULING_MESSAGES).map(([c, ms]) => [
      c.toUpperCase(),
      ms.map((m) => m.toUpperCase()),
    ]),
  );
  const capabilities = {
    serialNumber: caps.serialNumber ?? 1,
    versions: ['1.0'],
    schedulingMessages,
    calendarDataTypes: [{ contentType: 'text/calendar', version: '2.0' }],
    attachments: caps.attachments ?? { inline: false, external: true },
    maxContentLength: caps.maxContentLength ?? 1_048_576,
    minDateTime: caps.minDateTime ?? '19000101T000000Z',
    maxDateTime: caps.maxDateTime ?? '21001231T235959Z',
    maxInstances: caps.maxInstances ?? 1000,
    maxRecipients: caps.maxRecipients ?? 100,
    ...(caps.administrator !== undefined && { administrator: caps.administrator }),
  };

  const policy = options.policy ?? {};
  const limits = Object.freeze({ ...DEFAULT_LIMITS, ...definedOnly(options.limits ?? {}) });
  const resolver =
    options.keys ??
    defaultKeys({
      ...(options.dns && { dns: options.dns }),
      allowNetworks: addressPolicy(options.allowNetworks),
    });
  const keys = options.metrics ? observedKeys(resolver, options.metrics) : resolver;

  const replayStore = options.replayStore ?? new MemoryReplayStore();
  options.metrics?.watchReplayStore(replayStore);
  return {
    domains,
    adapter: options.adapter,
    keys,
    capabilities,
    maxAge: caps.maxAge ?? 3600,
    policy: {
      alignment: policy.alignment ?? 'relaxed',
      allowLocalOriginators: policy.allowLocalOriginators ?? false,
      clockSkew: policy.clockSkew ?? 300,
      maxSignatureAge: policy.maxSignatureAge ?? 3600,
      requireTimestamp: policy.requireTimestamp ?? true,
      allowSha1: policy.allowSha1 ?? false,
      denyDomains: policy.denyDomains ?? [],
      replayProtection: policy.replayProtection ?? true,
      ...(policy.allowDomains && { allowDomains: policy.allowDomains }),
    },
    replayStore,
    limits,
    rateLimits: new RateLimits(options.rateLimits),
    ...(options.metrics && { metrics: options.metrics }),
    concurrency: new ConcurrencyLimit({
      total: Number.POSITIVE_INFINITY,
      perGroup: limits.maxConcurrentPerDomain,
    }),
    logger: options.logger ?? {},
    paths: [options.path ?? '/.well-known/ischedule', ...(options.extraPaths ?? [])],
    adapterTimeout: options.adapterTimeout ?? 10_000,
    publishedKeys: publishedKeys(options.signing, draft01Peers.length > 0),
    draft01Peers,
  };
}

function plainDomain(domain: string): string {
  return domain.toLowerCase().replace(/\.$/, '');
}

function definedOnly<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** The records served for the signing keys; ones a draft -01 peer accepts when any is listed. */
function publishedKeys(signing: IScheduleRouterOptions['signing'], draft01: boolean): Map<string, string[]> {
  const list: readonly SigningKey[] =
    signing === undefined ? [] : Array.isArray(signing) ? signing : [signing];
  const published = new Map<string, string[]>();
  for (const [index, key] of list.entries()) {
    const where = Array.isArray(signing) ? `options.signing[${index}]` : 'options.signing';
    const { domain, selector, privateKey } = prepareSigningKey(key, where);
    const name = `${domain}/${selector.toLowerCase()}`;
    published.set(name, [...(published.get(name) ?? []), keyRecord(privateKey, { draft01 })]);
  }
  return published;
}
