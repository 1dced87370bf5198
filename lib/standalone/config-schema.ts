/**
 * The standalone server's config file as a schema: the receiver's capabilities, policy and limits
 * are the library's own schemas, so a file is checked exactly as the options are.
 * `npm run build:schema` writes it out as config.schema.json for editors.
 */
import * as v from 'valibot';
import { caldavEntries, milliseconds } from '../adapters/caldav/schema.js';
import { queryMethods } from '../dkim/schema.js';
import { dnsOptionsEntries } from '../dns/schema.js';
import { retrySchema } from '../outbox/outbox.js';
import {
  capabilityOptions,
  limitOptions,
  policyOptions,
  rateLimit,
  rateLimitEntries,
  receiverPaths,
} from '../receiver/schema.js';
import {
  calendarAddress,
  domainName,
  flag,
  networkList,
  port,
  positiveInteger,
  qualifiedDomain,
  receiverPath,
  redisUrl,
  selector,
  text,
  url,
} from '../validation.js';

const about = <S extends v.GenericSchema>(schema: S, description: string) =>
  v.pipe(schema, v.description(description));

const file = text('a file path');
const mailtoAddress = v.pipe(calendarAddress, v.regex(/^mailto:/i, 'a mailto: calendar address'));

export const configFile = v.strictObject(
  {
    $schema: v.optional(v.string()),
    listen: v.optional(
      about(
        v.strictObject(
          { host: v.optional(text('a host name or address')), port: v.optional(port) },
          'an object { host, port }',
        ),
        'Where the server listens (default 127.0.0.1:8443).',
      ),
    ),
    tls: v.optional(
      about(
        v.union(
          [
            v.literal('self-signed'),
            v.literal(false),
            v.strictObject({ cert: file, key: file }, 'an object { cert, key }'),
          ],
          '"self-signed", false, or { "cert": file, "key": file }',
        ),
        '"self-signed" (made once in dataDir, the default), PEM files { cert, key }, or false behind a TLS proxy.',
      ),
    ),
    domains: about(
      v.pipe(
        v.array(qualifiedDomain, 'an array of domain names'),
        v.minLength(1, 'a non-empty array of domain names'),
      ),
      'The calendar-user domains received for.',
    ),
    users: v.optional(
      about(
        v.array(mailtoAddress, 'an array of mailto: addresses'),
        'The calendar users with an inbox here (mailto: addresses in the domains); with caldav, the users asked of the CalDAV server.',
      ),
    ),
    caldav: v.optional(
      about(
        v.strictObject(
          { ...caldavEntries, ca: v.optional(file), syncInterval: v.optional(milliseconds) },
          'an object { url, username, password, users, ca, syncInterval, timeout }',
        ),
        "Put iSchedule in front of this CalDAV server: deliveries and free-busy over CalDAV, and its users' changes sent (instead of the filesystem inbox).",
      ),
    ),
    dataDir: about(file, 'The folder for inboxes, calendars, keys and the self-signed certificate.'),
    signing: about(
      v.strictObject(
        { domain: qualifiedDomain, selector, privateKeyFile: v.optional(file) },
        'an object { domain, selector, privateKeyFile }',
      ),
      "This server's DKIM key: made at privateKeyFile (default <selector>.private.pem) when missing.",
    ),
    keys: v.optional(
      about(
        v.strictObject(
          {
            methods: v.optional(queryMethods),
            privateExchange: v.optional(
              v.record(
                v.pipe(
                  v.string(),
                  v.regex(/^[^.\s]+\._domainkey\.[^\s]+$/, 'a name like <selector>._domainkey.<domain>'),
                ),
                text('a key record'),
                'an object of "<selector>._domainkey.<domain>": "v=DKIM1; ..."',
              ),
            ),
            dns: v.optional(
              v.strictObject(
                { servers: v.nonOptional(dnsOptionsEntries.servers, 'required') },
                'an object { servers }',
              ),
            ),
          },
          'an object { methods, privateExchange, dns }',
        ),
        "How senders' keys are found (default dns/txt, then http/well-known).",
      ),
    ),
    capabilities: v.optional(about(capabilityOptions, 'What the receiver advertises and enforces.')),
    policy: v.optional(about(policyOptions, 'Signature and sender policy (secure by default).')),
    limits: v.optional(about(limitOptions, 'Bounds on the work one request may cause.')),
    path: v.optional(about(receiverPath, "The receiver's path (default /.well-known/ischedule).")),
    extraPaths: v.optional(about(receiverPaths, 'More paths answering the same, e.g. a TXT path=.')),
    draft01Peers: v.optional(
      about(
        v.array(domainName, 'an array of domain names'),
        'Peer domains that may speak the old draft -01 (DAViCal, EGroupware), received from and sent to; default none.',
      ),
    ),
    allowNetworks: v.optional(
      about(networkList, 'Networks key servers may be in besides the public Internet (CIDR or addresses).'),
    ),
    http: v.optional(
      about(
        v.strictObject(
          {
            maxConnections: v.optional(positiveInteger()),
            headersTimeout: v.optional(positiveInteger('a positive integer (milliseconds)')),
            requestTimeout: v.optional(positiveInteger('a positive integer (milliseconds)')),
            keepAliveTimeout: v.optional(positiveInteger('a positive integer (milliseconds)')),
            tlsHandshakeTimeout: v.optional(positiveInteger('a positive integer (milliseconds)')),
          },
          'an object',
        ),
        'Connections and their timeouts.',
      ),
    ),
    redis: v.optional(
      about(
        redisUrl,
        'A Redis shared by every process and host receiving for these domains: replay memory (default: in this process).',
      ),
    ),
    monitoring: v.optional(
      about(
        v.strictObject(
          { host: v.optional(text('a host name or address')), port: port },
          'an object { host, port }',
        ),
        'A plain-HTTP listener for /metrics (Prometheus) and /healthz, /healthz/ready (default off; host 127.0.0.1).',
      ),
    ),
    rateLimits: v.optional(
      about(
        v.strictObject(rateLimitEntries, 'an object { perAddress, perDomain, domains }'),
        'Requests per client address and per signing domain (shared through redis when set).',
      ),
    ),
    workers: v.optional(
      about(
        v.pipe(positiveInteger('an integer from 1 to 64'), v.maxValue(64, 'an integer from 1 to 64')),
        'Processes serving the port (default 1); more than one needs redis.',
      ),
    ),
    outbox: v.optional(
      about(
        v.strictObject(
          {
            enabled: v.optional(flag),
            queryMethods: v.optional(queryMethods),
            overrides: v.optional(
              v.record(domainName, url('an http:// or https:// URL'), 'an object of domain: receiver URL'),
            ),
            retry: v.optional(retrySchema),
            concurrency: v.optional(positiveInteger()),
            perDomainConcurrency: v.optional(positiveInteger()),
            perDomainRate: v.optional(rateLimit),
          },
          'an object { enabled, queryMethods, overrides, retry, concurrency, perDomainConcurrency, perDomainRate }',
        ),
        'The durable outbox that sends what `ischedule send --queue` hands it (default on, journal under dataDir/outbox).',
      ),
    ),
    inboxQuota: v.optional(
      about(
        v.strictObject(
          { messages: v.optional(positiveInteger()), bytes: v.optional(positiveInteger()) },
          'an object { messages, bytes }',
        ),
        'Most messages and octets one inbox holds (default 10000 and 50 MiB).',
      ),
    ),
  },
  'a JSON object',
);
