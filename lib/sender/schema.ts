/** IScheduleClient's options as a schema. */
import * as v from 'valibot';
import { queryMethods, signingKeys, tlsOptions } from '../dkim/schema.js';
import { dnsSchema } from '../dns/schema.js';
import { IScheduleMetrics } from '../metrics.js';
import * as check from '../validation.js';

const RECEIVER_URL = 'an http:// or https:// URL';

export const clientOptions = v.strictObject(
  {
    signing: v.optional(signingKeys),
    queryMethods: v.optional(v.pipe(queryMethods, v.minLength(1, 'a non-empty array of query methods'))),
    signatureLifetime: v.optional(check.positiveInteger('a positive integer (seconds)')),
    dns: v.optional(dnsSchema),
    tls: v.optional(tlsOptions),
    overrides: v.optional(
      v.record(check.domainName, check.url(RECEIVER_URL), 'an object of domain: receiver URL'),
    ),
    allowNetworks: v.optional(check.networkList),
    subdomainFallback: v.optional(check.flag),
    timeout: v.optional(check.amount('a positive number of milliseconds', 1)),
    maxResponseBytes: v.optional(check.positiveInteger()),
    capabilitiesCacheSize: v.optional(check.positiveInteger()),
    capabilitiesLifetime: v.optional(check.amount('a number of milliseconds')),
    attempts: v.optional(
      v.pipe(check.positiveInteger('an integer from 1 to 10'), v.maxValue(10, 'an integer from 1 to 10')),
    ),
    userAgent: v.optional(check.text()),
    metrics: v.optional(v.instance(IScheduleMetrics, 'an IScheduleMetrics')),
    logger: v.optional(check.methods({ warn: v.optional(check.fn('a function')) }, 'a logger { warn }')),
    draft01Peers: v.optional(check.domainList),
  },
  'an options object',
);
