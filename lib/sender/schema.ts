/** IScheduleClient's options as a schema. */
import * as v from 'valibot';
import { queryMethods, signingKeys, tlsOptions } from '../dkim/schema.js';
import { dnsSchema } from '../dns/schema.js';
import {
  amount,
  domainName,
  flag,
  fn,
  methods,
  networkList,
  positiveInteger,
  text,
  url,
} from '../validation.js';

const RECEIVER_URL = 'an http:// or https:// URL';

export const clientOptions = v.strictObject(
  {
    signing: v.optional(signingKeys),
    queryMethods: v.optional(v.pipe(queryMethods, v.minLength(1, 'a non-empty array of query methods'))),
    signatureLifetime: v.optional(positiveInteger('a positive integer (seconds)')),
    dns: v.optional(dnsSchema),
    tls: v.optional(tlsOptions),
    overrides: v.optional(v.record(domainName, url(RECEIVER_URL), 'an object of domain: receiver URL')),
    allowNetworks: v.optional(networkList),
    subdomainFallback: v.optional(flag),
    timeout: v.optional(amount('a positive number of milliseconds', 1)),
    maxResponseBytes: v.optional(positiveInteger()),
    capabilitiesCacheSize: v.optional(positiveInteger()),
    capabilitiesLifetime: v.optional(amount('a number of milliseconds')),
    attempts: v.optional(
      v.pipe(positiveInteger('an integer from 1 to 10'), v.maxValue(10, 'an integer from 1 to 10')),
    ),
    userAgent: v.optional(text()),
    logger: v.optional(methods({ warn: v.optional(fn('a function')) }, 'a logger { warn }')),
  },
  'an options object',
);
