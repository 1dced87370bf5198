/** The `dns` option wherever it is taken: options for the built-in client, or a DnsResolver. */
import * as v from 'valibot';
import { amount, fn, methods, port, positiveInteger } from '../validation.js';

const SERVER = 'a name server as host, host:port or [v6]:port';

export const nameServer = v.pipe(
  v.string(SERVER),
  v.regex(/^(\[[0-9a-f:.]+\]|[^:\s[\]]+)(:\d{1,5})?$/i, SERVER),
);

export const dnsOptionsEntries = {
  servers: v.optional(v.array(nameServer, 'an array of name servers')),
  port: v.optional(port),
  timeout: v.optional(amount('a positive number of milliseconds', 1)),
  cacheSize: v.optional(positiveInteger()),
  negativeTtl: v.optional(amount('a number of seconds')),
  failureTtl: v.optional(amount('a number of seconds')),
  maxTtl: v.optional(amount('a number of seconds')),
  minTtl: v.optional(amount('a number of seconds')),
};

export const dnsOptions = v.strictObject(dnsOptionsEntries, 'DNS options { servers, timeout, ... }');

const RESOLVER_METHODS = ['txt', 'srv', 'addresses'] as const;

const dnsResolver = methods(
  {
    txt: fn('a function'),
    srv: fn('a function'),
    addresses: fn('a function'),
    cachedTxt: v.optional(fn('a function')),
  },
  'a DnsResolver { txt, srv, addresses }',
);

/** An object with any resolver method is meant as a resolver (and must have them all). */
export const dnsSchema = v.lazy((input: unknown) =>
  typeof input === 'object' &&
  input !== null &&
  RESOLVER_METHODS.some((m) => typeof (input as Record<string, unknown>)[m] === 'function')
    ? dnsResolver
    : dnsOptions,
);
