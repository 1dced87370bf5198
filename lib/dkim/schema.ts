/** Schemas for the DKIM options a host gives: signing keys and the key resolvers' options. */
import { KeyObject } from 'node:crypto';
import * as v from 'valibot';
import { dnsOptionsEntries, dnsSchema } from '../dns/schema.js';
import { AddressPolicy } from '../net/address-policy.js';
import {
  amount,
  flag,
  fn,
  methods,
  networkList,
  positiveInteger,
  qualifiedDomain,
  selector,
  text,
} from '../validation.js';
import { QUERY_METHODS } from './signature.js';

const PRIVATE_KEY = 'PEM text, a Buffer or a private KeyObject';

export const signingKey = v.strictObject(
  {
    domain: qualifiedDomain,
    selector,
    privateKey: v.custom(
      (key) =>
        (typeof key === 'string' && key.length > 0) ||
        Buffer.isBuffer(key) ||
        (key instanceof KeyObject && key.type === 'private'),
      PRIVATE_KEY,
    ),
  },
  'a signing key { domain, selector, privateKey }',
);

/** One key, or several (during a rotation). */
export const signingKeys = v.lazy((input: unknown) =>
  Array.isArray(input) ? v.array(signingKey, 'an array of signing keys') : signingKey,
);

export const queryMethod = v.picklist(QUERY_METHODS, `one of ${QUERY_METHODS.join(', ')}`);

export const queryMethods = v.array(queryMethod, 'an array of query methods');

export const keyResolver = methods(
  { methods: queryMethods, lookup: fn('a function'), cached: v.optional(fn('a function')) },
  'a KeyResolver { methods, lookup }',
);

const certificates = v.custom(
  (ca) =>
    typeof ca === 'string' ||
    Buffer.isBuffer(ca) ||
    (Array.isArray(ca) && ca.every((c) => typeof c === 'string' || Buffer.isBuffer(c))),
  'PEM text, a Buffer, or an array of them',
);

export const tlsOptions = v.strictObject(
  { ca: v.optional(certificates), rejectUnauthorized: v.optional(flag) },
  'TLS options { ca, rejectUnauthorized }',
);

export const wellKnownKeysOptions = v.strictObject(
  {
    dns: v.optional(dnsSchema),
    ca: v.optional(certificates),
    rejectUnauthorized: v.optional(flag),
    allowNetworks: v.optional(
      v.lazy((input: unknown) => (input instanceof AddressPolicy ? v.instance(AddressPolicy) : networkList)),
    ),
    timeout: v.optional(amount('a positive number of milliseconds', 1)),
    maxBytes: v.optional(positiveInteger()),
    fallbackToDomain: v.optional(flag),
    cacheSize: v.optional(positiveInteger()),
    maxConcurrent: v.optional(positiveInteger()),
    maxConcurrentPerDomain: v.optional(positiveInteger()),
  },
  'an object',
);

export const dnsKeysOptions = v.strictObject(
  { ...dnsOptionsEntries, client: v.optional(dnsSchema) },
  'an object',
);

export const privateExchangeRecords = v.record(
  v.pipe(
    v.string(),
    v.regex(/^[^.\s]+\._domainkey\.[^\s]+$/, 'a key name like <selector>._domainkey.<domain>'),
  ),
  v.lazy((input: unknown) =>
    Array.isArray(input) ? v.array(text('a key record'), 'an array of key records') : text('a key record'),
  ),
  'an object of "<selector>._domainkey.<domain>": "v=DKIM1; ..."',
);
