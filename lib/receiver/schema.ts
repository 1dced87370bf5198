/**
 * The receiver's options as schemas. capabilities, policy and limits hold only JSON values, so the
 * standalone config file reuses them as they are.
 */
import * as v from 'valibot';
import { keyResolver, signingKeys } from '../dkim/schema.js';
import { dnsSchema } from '../dns/schema.js';
import { IScheduleMetrics } from '../metrics.js';
import {
  amount,
  domainList,
  domainName,
  flag,
  fn,
  methods,
  networkList,
  positiveInteger,
  receiverPath,
  text,
} from '../validation.js';

const DATE_TIME = 'a UTC DATE-TIME like 19000101T000000Z';

export const capabilityOptions = v.strictObject(
  {
    serialNumber: v.optional(positiveInteger()),
    schedulingMessages: v.optional(
      v.record(
        v.pipe(v.string(), v.regex(/^[A-Za-z-]+$/, 'a component name like VEVENT')),
        v.array(
          v.pipe(v.string('a METHOD name'), v.regex(/^[A-Za-z-]+$/, 'a METHOD name')),
          'an array of METHOD names',
        ),
        'an object of component: [METHOD, ...]',
      ),
    ),
    maxContentLength: v.optional(positiveInteger()),
    minDateTime: v.optional(v.pipe(v.string(DATE_TIME), v.regex(/^\d{8}T\d{6}Z$/, DATE_TIME))),
    maxDateTime: v.optional(v.pipe(v.string(DATE_TIME), v.regex(/^\d{8}T\d{6}Z$/, DATE_TIME))),
    maxInstances: v.optional(positiveInteger()),
    maxRecipients: v.optional(positiveInteger()),
    attachments: v.optional(
      v.strictObject({ inline: flag, external: flag }, 'an object { inline, external }'),
    ),
    administrator: v.optional(text('a contact URI like mailto:admin@example.com')),
    maxAge: v.optional(amount('a number of seconds')),
  },
  'an object',
);

export const policyOptions = v.strictObject(
  {
    alignment: v.optional(v.picklist(['relaxed', 'strict', 'off'], 'one of relaxed, strict, off')),
    allowLocalOriginators: v.optional(flag),
    clockSkew: v.optional(amount('a number of seconds')),
    maxSignatureAge: v.optional(amount('a positive number of seconds', 1)),
    requireTimestamp: v.optional(flag),
    allowSha1: v.optional(flag),
    allowDomains: v.optional(domainList),
    denyDomains: v.optional(domainList),
    replayProtection: v.optional(flag),
  },
  'an object',
);

export const limitOptions = v.strictObject(
  {
    keyLookupTimeout: v.optional(positiveInteger('a positive integer (milliseconds)')),
    maxLines: v.optional(positiveInteger()),
    maxParametersPerProperty: v.optional(positiveInteger()),
    maxParameters: v.optional(positiveInteger()),
    maxComponents: v.optional(positiveInteger()),
    maxFreeBusyDays: v.optional(positiveInteger()),
    maxFreeBusyPeriods: v.optional(positiveInteger()),
    maxConcurrentPerDomain: v.optional(positiveInteger()),
  },
  'an object',
);

export const rateLimit = v.strictObject(
  {
    points: positiveInteger('a positive integer (requests)'),
    duration: positiveInteger('a positive integer (seconds)'),
  },
  'a limit { points, duration }',
);

/** The JSON part of rateLimits (the config file takes these). */
export const rateLimitEntries = {
  perAddress: v.optional(v.union([rateLimit, v.literal(false)], 'a limit { points, duration }, or false')),
  perDomain: v.optional(v.union([rateLimit, v.literal(false)], 'a limit { points, duration }, or false')),
  domains: v.optional(v.record(domainName, rateLimit, 'an object of domain: { points, duration }')),
};

export const receiverPaths = v.array(receiverPath, 'an array of paths');

export const logger = methods(
  {
    info: v.optional(fn('a function')),
    warn: v.optional(fn('a function')),
    error: v.optional(fn('a function')),
  },
  'a logger { info, warn, error }',
);

export const routerOptions = v.strictObject(
  {
    domains: v.pipe(domainList, v.minLength(1, 'a non-empty array of the domains received for')),
    adapter: methods(
      { lookupUser: fn('a function'), deliverToInbox: fn('a function'), getFreeBusy: fn('a function') },
      'an adapter { lookupUser, deliverToInbox, getFreeBusy }',
    ),
    signing: v.optional(signingKeys),
    keys: v.optional(keyResolver),
    dns: v.optional(dnsSchema),
    allowNetworks: v.optional(networkList),
    limits: v.optional(limitOptions),
    capabilities: v.optional(capabilityOptions),
    policy: v.optional(policyOptions),
    replayStore: v.optional(methods({ remember: fn('a function') }, 'a ReplayStore { remember }')),
    metrics: v.optional(v.instance(IScheduleMetrics, 'an IScheduleMetrics')),
    rateLimits: v.optional(
      v.strictObject(
        {
          ...rateLimitEntries,
          redis: v.optional(methods({ call: fn('a function') }, 'an ioredis client')),
          clientAddress: v.optional(fn('a function')),
        },
        'an object { perAddress, perDomain, domains, redis, clientAddress }',
      ),
    ),
    logger: v.optional(logger),
    path: v.optional(receiverPath),
    extraPaths: v.optional(receiverPaths),
    draft01Peers: v.optional(domainList),
    adapterTimeout: v.optional(positiveInteger('a positive integer (milliseconds)')),
  },
  'an options object',
);
