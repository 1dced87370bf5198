import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { main } from '../../lib/cli/main.js';
import type { Output } from '../../lib/cli/output.js';
import { ExpressIScheduleError, OptionsError } from '../../lib/errors.js';
import { configJsonSchema } from '../../scripts/config-schema.js';
import {
  ConfigError,
  chainKeys,
  createIScheduleRouter,
  type DnsResolver,
  dnsKeys,
  dnsTxtRecord,
  IScheduleClient,
  keyRecord,
  MemoryReplayStore,
  parseConfig,
  privateExchangeKeys,
  wellKnownKeys,
} from '../support/api.js';
import { draftHeaders, fixture, keys, testKeyRecords } from '../support/fixtures.js';
import { post, startReceiver } from '../support/receiver.js';

const adapter = { lookupUser: () => null, deliverToInbox: () => undefined, getFreeBusy: () => [] };
const router = (options: object) => () =>
  createIScheduleRouter({ domains: ['example.org'], adapter, ...options } as never);

/** Throws an OptionsError (in the package's error family) with exactly this message and path. */
function refuses(build: () => unknown, message: string | RegExp, path?: string) {
  assert.throws(build, (error: unknown) => {
    assert.ok(error instanceof OptionsError && error instanceof ExpressIScheduleError, String(error));
    assert.equal(error.code, 'invalid-options');
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    if (path !== undefined) assert.equal(error.path, path);
    return true;
  });
}

const config = {
  domains: ['example.org'],
  users: ['mailto:a@example.org'],
  dataDir: 'data',
  signing: { domain: 'example.org', selector: 's' },
};

describe('router options: every value checked, unknown keys refused', () => {
  it('refuses values of the wrong type that used to weaken security silently', () => {
    refuses(
      router({ policy: { clockSkew: '300' } }),
      'options.policy.clockSkew must be a number of seconds, not "300"',
      'options.policy.clockSkew',
    );
    refuses(
      router({ policy: { allowSha1: 'false' } }),
      'options.policy.allowSha1 must be true or false, not "false"',
    );
    refuses(
      router({ policy: { denyDomains: 'spam.example' } }),
      'options.policy.denyDomains must be an array of domain names, not "spam.example"',
    );
    refuses(
      router({ adapterTimeout: 'ten' }),
      'options.adapterTimeout must be a positive integer (milliseconds), not "ten"',
    );
    refuses(
      router({ adapterTimeout: -1 }),
      'options.adapterTimeout must be a positive integer (milliseconds), not -1',
    );
  });

  it('refuses unknown keys, suggesting the one meant', () => {
    refuses(router({ polcy: {} }), 'options.polcy is not an option: did you mean "policy"?', 'options.polcy');
    refuses(
      router({ policy: { aligment: 'strict' } }),
      'options.policy.aligment is not an option: did you mean "alignment"?',
    );
    refuses(
      router({ limits: { MaxLines: 5 } }),
      'options.limits.MaxLines is not an option: did you mean "maxLines"?',
    );
    refuses(router({ zzz: 1 }), /^options\.zzz is not an option \(known: domains, adapter, signing, /);
  });

  it('names what is missing and lists several problems at once', () => {
    refuses(
      router({ adapter: { lookupUser: 1 } }),
      [
        '3 problems:',
        '  - options.adapter.lookupUser must be a function, not 1',
        '  - options.adapter.deliverToInbox is required',
        '  - options.adapter.getFreeBusy is required',
      ].join('\n'),
      'options.adapter.lookupUser',
    );
    refuses(
      () => createIScheduleRouter(undefined as never),
      'options must be an options object, not undefined',
    );
  });

  it("accepts hosts' own objects as they are: class instances, console as the logger", () => {
    class Adapter {
      lookupUser() {
        return null;
      }
      deliverToInbox() {}
      getFreeBusy() {
        return [];
      }
    }
    assert.equal(
      typeof createIScheduleRouter({ domains: ['example.org'], adapter: new Adapter(), logger: console }),
      'function',
    );
  });

  it("says what is wrong with key material in its own words, never OpenSSL's", () => {
    const publicPem = generateKeyPairSync('ed25519')
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    for (const [privateKey, expected] of [
      [
        'nope',
        /is not a private key in PEM \(PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY"\)$/,
      ],
      [publicPem, /is a public key; signing needs the private key$/],
    ] as const) {
      refuses(router({ signing: { ...keys.jupiter, privateKey } }), expected, 'options.signing');
      assert.throws(
        () => new IScheduleClient({ signing: [{ ...keys.jupiter, privateKey }] }),
        (error: Error) => !/DECODER|error:[0-9A-F]{8}/.test(error.message) && expected.test(error.message),
      );
    }
    refuses(
      router({
        signing: [keys.jupiter, { ...keys.jupiter, privateKey: fixture('keys/weak-512.rsa.pem').toString() }],
      }),
      'options.signing[1] (jupiter._domainkey.example.com) has 512 bits; use an RSA key of 2048',
    );
  });

  it('keyRecord accepts a public KeyObject, as documented', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    assert.equal(keyRecord(publicKey), keyRecord(privateKey));
    assert.match(keyRecord(publicKey), /^v=DKIM1; k=ed25519; s=ischedule; p=/);
    assert.throws(() => keyRecord('junk'), /^OptionsError: keyRecord: not a key in PEM/);
  });
});

describe('the other public options objects', () => {
  it('IScheduleClient: works without options (discovery only), refuses bad ones', () => {
    assert.doesNotThrow(() => new IScheduleClient().close());
    refuses(
      () => new IScheduleClient({ overrides: { 'example.org': 'ftp://cal.example.org/' } }),
      'IScheduleClient options.overrides["example.org"] must be an http:// or https:// URL, not "ftp://cal.example.org/"',
    );
    refuses(
      () => new IScheduleClient({ atempts: 2 } as never),
      /options\.atempts is not an option: did you mean "attempts"\?/,
    );
    refuses(
      () => new IScheduleClient({ attempts: 0 }),
      /options\.attempts must be an integer from 1 to 10, not 0/,
    );
  });

  it('key resolvers, stores and records', () => {
    refuses(
      () => wellKnownKeys({ timout: 5 } as never),
      'wellKnownKeys options.timout is not an option: did you mean "timeout"?',
    );
    refuses(
      () => dnsKeys({ servers: 'ns.example' } as never),
      /dnsKeys options\.servers must be an array of name servers/,
    );
    refuses(
      () => privateExchangeKeys({ 'jupiter.example.com': 'v=DKIM1; p=x' }),
      /privateExchangeKeys records\["jupiter\.example\.com"\] .*<selector>\._domainkey\.<domain>/,
    );
    refuses(() => chainKeys({ lookup: () => [] } as never), 'chainKeys[0].methods is required');
    refuses(
      () => new MemoryReplayStore({ maxEntries: 0 }),
      'MemoryReplayStore options.maxEntries must be a positive integer, not 0',
    );
    refuses(
      () => dnsTxtRecord('bad domain', 's', 'v=DKIM1'),
      'dnsTxtRecord domain must be a domain name, not "bad domain"',
    );
  });

  it("a DNS resolver of the host's own is used, never replaced by the system's; a partial one is refused", async () => {
    const asked: string[] = [];
    const records = testKeyRecords();
    const resolver: DnsResolver = {
      txt: async (name) => {
        asked.push(name);
        const record = records[name];
        return record ? [record] : [];
      },
      srv: async () => [],
      addresses: async () => [],
    };
    const receiver = await startReceiver({ router: { keys: undefined, dns: resolver } } as never);
    try {
      const result = await post(receiver, {
        headers: draftHeaders(),
        body: fixture('draft/a1-request.ics'),
        sign: { queryMethods: ['dns/txt'] },
      });
      assert.equal(result.responses?.[0]?.requestStatus, '2.0;Success', result.text);
      assert.deepEqual(asked, ['jupiter._domainkey.example.com']);
    } finally {
      await receiver.close();
    }
    const client = new IScheduleClient({ dns: resolver });
    assert.equal(client.dns, resolver);
    client.close();
    refuses(router({ dns: { txt: resolver.txt, srv: resolver.srv } }), 'options.dns.addresses is required');
  });
});

describe('the config file: the same checks as the library', () => {
  it('names the key and what was expected', () => {
    const cases: Array<[object, string]> = [
      [{ policy: { clockSkew: '300' } }, 'policy.clockSkew must be a number of seconds, not "300"'],
      [{ policy: { allowSha1: 'false' } }, 'policy.allowSha1 must be true or false, not "false"'],
      [{ polcy: {} }, 'polcy is not an option: did you mean "policy"?'],
      [{ tls: { cert: 'c.pem' } }, 'tls.key is required'],
      [{ tls: 'self' }, 'tls must be "self-signed", false, or { "cert": file, "key": file }, not "self"'],
      [{ domains: [] }, 'domains must be a non-empty array of domain names, not an empty array'],
      [
        { rateLimits: { perDomain: { points: 0, duration: 60 } } },
        'rateLimits.perDomain.points must be a positive integer (requests), not 0',
      ],
      [{ workers: 100 }, 'workers must be an integer from 1 to 64, not 100'],
      [{ users: undefined }, 'users is required (or a caldav server whose users are served)'],
      [{ caldav: { url: 'ftp://cal' } }, 'caldav.url must be an http:// or https:// URL, not "ftp://cal"'],
      [
        { caldav: { url: 'http://127.0.0.1:5232/', users: { 'mailto:bob@elsewhere.example': '/bob/' } } },
        'caldav.users "mailto:bob@elsewhere.example" is not in any of domains (example.org)',
      ],
      [
        { caldav: { url: 'http://127.0.0.1:5232/', username: 'gateway' } },
        'caldav.username and caldav.password go together',
      ],
      [
        { caldav: { url: 'http://127.0.0.1:5232/', users: { 'mailto:bob@example.org': 'bob' } } },
        'caldav.users["mailto:bob@example.org"] must be a path starting with "/", not "bob"',
      ],
    ];
    for (const [override, message] of cases) {
      assert.throws(
        () => parseConfig({ ...config, ...override }, '/tmp'),
        (error: unknown) => error instanceof ConfigError && error.message === message,
        message,
      );
    }
    assert.throws(
      () => parseConfig([], '/tmp'),
      /^ConfigError: the config must be a JSON object, not an array$/,
    );
    assert.doesNotThrow(() => parseConfig({ ...config, $schema: './config.schema.json' }, '/tmp'));
    // With a CalDAV server the users may come from it alone.
    const gateway = parseConfig(
      {
        ...config,
        users: undefined,
        caldav: { url: 'http://127.0.0.1:5232/', users: { 'mailto:bob@example.org': '/bob/' } },
      },
      '/tmp',
    );
    assert.deepEqual(gateway.users, []);
    assert.deepEqual(gateway.caldav?.users, { 'mailto:bob@example.org': '/bob/' });
  });

  it('ships a JSON Schema for editors that matches the checks', () => {
    const committed = readFileSync(new URL('../../config.schema.json', import.meta.url), 'utf8');
    assert.deepEqual(
      JSON.parse(committed),
      JSON.parse(configJsonSchema()),
      'config.schema.json is out of date: run npm run build:schema',
    );
    const schema = JSON.parse(committed) as { properties: Record<string, unknown>; required: string[] };
    // users is required unless caldav is given: parseConfig says so (the schema cannot).
    assert.deepEqual(schema.required.sort(), ['dataDir', 'domains', 'signing']);
    assert.equal((schema as { additionalProperties?: boolean }).additionalProperties, false);
  });
});

describe('command-line flags: every name and number checked', () => {
  const run = async (argv: string[]) => {
    const errors: string[] = [];
    const out: Output = { line: () => {}, json: () => {}, error: (text) => errors.push(text) };
    return { code: await main(argv, out), errors };
  };

  it('keygen refuses a bad domain, selector or size instead of printing records for them', async () => {
    const domain = await run(['keygen', '--domain', 'bad domain', '--selector', 's1']);
    assert.equal(domain.code, 1);
    assert.deepEqual(domain.errors, [
      'ischedule keygen: --domain must be a domain name like example.com, not "bad domain"',
    ]);
    const selector = await run(['keygen', '--domain', 'example.com', '--selector', 's x']);
    assert.match(
      selector.errors[0] ?? '',
      /--selector must be a selector \(letters, digits, "-", "_", "\."\), not "s x"/,
    );
    const bits = await run(['keygen', '--domain', 'example.com', '--selector', 's1', '--bits', '2048x']);
    assert.match(bits.errors[0] ?? '', /--bits must be an integer from 1024 to 16384, not "2048x"/);
  });

  it('send, discover, doctor, serve and verify check addresses, URLs, methods, servers, networks and numbers', async () => {
    const send = ['send', '--key', 'k.pem', '--domain', 'example.com', '--selector', 's1', 'x.ics'];
    const cases: Array<[string[], RegExp]> = [
      [[...send, '--from', 'bernard', '--to', 'mailto:a@example.org'], /--from must be a calendar address/],
      [[...send, '--from', 'mailto:b@example.com', '--to', 'a@'], /--to must be a calendar address/],
      [
        [...send, '--from', 'mailto:b@example.com', '--to', 'mailto:a@example.org', '--server', 'cal'],
        /--server must be an http/,
      ],
      [
        [...send, '--from', 'mailto:b@example.com', '--to', 'mailto:a@example.org', '--q', 'dns/txt:pigeon'],
        /--q must be one of/,
      ],
      [['discover', 'not a domain'], /DOMAIN must be a domain name, not "not a domain"/],
      [
        ['discover', 'example.com', '--dns', 'a:b:c'],
        /--dns must be a name server as host, host:port or \[v6\]:port, not "a:b:c"/,
      ],
      [['doctor', 'example.com', '--allow-network', '10.0.0.0/40'], /--allow-network must be a network/],
      [['doctor', 'example.com', '--selector', 'a b'], /--selector must be a selector/],
      [['serve', '--port', '1e3'], /--port must be an integer from 0 to 65535, not "1e3"/],
      [
        ['verify', 'x.http', '--clock-skew', 'abc'],
        /--clock-skew must be an integer from 0 to 86400, not "abc"/,
      ],
      [['verify', 'x.http', '--now', ''], /--now must be an integer from 0 to /],
    ];
    for (const [argv, pattern] of cases) {
      const result = await run(argv);
      assert.equal(result.code, 1, argv.join(' '));
      assert.match(result.errors.join('\n'), pattern);
    }
  });
});
