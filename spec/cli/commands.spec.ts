import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ZoneServer } from '../../lib/dns/zone-server.js';
import { IScheduleClient, keyRecord, signRequest } from '../support/api.js';
import { cli, type ServeProcess, serve } from '../support/cli.js';
import { keys } from '../support/fixtures.js';

const invitation = (to: string, uid = `u-${Math.random()}`) =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//test//EN',
    'METHOD:REQUEST',
    'BEGIN:VEVENT',
    `UID:${uid}@example.com`,
    'DTSTAMP:20260101T000000Z',
    'DTSTART:20260105T100000Z',
    'DTEND:20260105T110000Z',
    'SUMMARY:CLI',
    'ORGANIZER:mailto:bernard@example.com',
    'ATTENDEE:mailto:bernard@example.com',
    `ATTENDEE;RSVP=TRUE:${to}`,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');

describe('ischedule serve, send, verify, doctor (child processes)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ischedule-cli-'));
  const jupiterPem = path.join(dir, 'jupiter.pem');
  let server: ServeProcess;
  let zone: ZoneServer;
  let dnsServer: string;

  before(async () => {
    writeFileSync(jupiterPem, keys.jupiter.privateKey);
    zone = new ZoneServer([
      { type: 'TXT', name: 'jupiter._domainkey.example.com', text: keyRecord(keys.jupiter.privateKey) },
      { type: 'A', name: 'cal.example.org', address: '127.0.0.1' },
    ]);
    dnsServer = (await zone.listen()).server;
    const config = {
      listen: { host: '127.0.0.1', port: 0 },
      tls: 'self-signed',
      domains: ['example.org'],
      users: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
      dataDir: 'data',
      signing: { domain: 'example.org', selector: 'cli', privateKeyFile: 'keys/cli.pem' },
      keys: { methods: ['dns/txt'], dns: { servers: [dnsServer] } },
    };
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    server = await serve(['--config', path.join(dir, 'config.json')]);
    const port = Number(new URL(server.url).port);
    zone.addRecords(
      {
        type: 'SRV',
        name: '_ischedules._tcp.example.org',
        priority: 0,
        weight: 0,
        port,
        target: 'cal.example.org.',
      },
      {
        type: 'TXT',
        name: 'cli._domainkey.example.org',
        text: keyRecord(readFileSync(path.join(dir, 'keys/cli.pem'), 'utf8')),
      },
      { type: 'TXT', name: 'mars._domainkey.example.org', text: keyRecord(keys.mars.privateKey) },
      {
        type: 'TXT',
        name: 'cal01._domainkey.example.org',
        text: keyRecord(keys.venus.privateKey, { draft01: true }),
      },
      {
        type: 'SRV',
        name: '_ischedules._tcp.badpath.example',
        priority: 0,
        weight: 0,
        port,
        target: 'cal.example.org.',
      },
      { type: 'TXT', name: '_ischedules._tcp.badpath.example', text: 'path=ischedule' },
    );
  });
  after(async () => {
    assert.equal(await server.stop(), 0, 'serve stops cleanly on SIGTERM');
    await zone.close();
  });

  const ca = () => path.join(dir, 'data', 'tls', 'cert.pem');
  /** send's flags for signing as jupiter._domainkey.example.com and reaching the loopback server. */
  const signedBy = () => [
    '--key',
    jupiterPem,
    '--domain',
    'example.com',
    '--selector',
    'jupiter',
    '--dns',
    dnsServer,
    '--allow-network',
    '127.0.0.0/8',
    '--ca',
    ca(),
  ];
  const inbox = (user: string) => path.join(dir, 'data', user, 'inbox');

  it('serve receives a signed request and the .ics lands in the inbox; send prints 2.0', async () => {
    const file = path.join(dir, 'invite.ics');
    writeFileSync(
      file,
      invitation('mailto:cyrus@example.org').replace(
        'END:VEVENT',
        'ATTENDEE:mailto:nobody@example.org\r\nEND:VEVENT',
      ),
    );
    const result = await cli([
      'send',
      '--from',
      'mailto:bernard@example.com',
      '--to',
      'mailto:cyrus@example.org',
      '--to',
      'mailto:nobody@example.org',
      ...signedBy(),
      file,
    ]);
    assert.match(result.stdout, /mailto:cyrus@example\.org\s+2\.0;Success\s+delivered/, result.stderr);
    assert.match(result.stdout, /mailto:nobody@example\.org\s+3\.7/);
    assert.equal(result.code, 1, 'not every recipient got it');
    const files = readdirSync(inbox('cyrus@example.org'));
    assert.equal(files.length, 1);
    assert.equal(
      readFileSync(path.join(inbox('cyrus@example.org'), files[0]!), 'utf8'),
      readFileSync(file, 'utf8'),
    );
  });

  it('delivers concurrent requests to one inbox without losing any', async () => {
    const client = new IScheduleClient({
      signing: keys.jupiter,
      dns: { servers: [dnsServer] },
      tls: { ca: readFileSync(ca(), 'utf8') },
      allowNetworks: ['127.0.0.0/8'],
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          client.send({
            originator: 'mailto:bernard@example.com',
            recipients: ['mailto:mike@example.org'],
            calendar: invitation('mailto:mike@example.org', `same-uid-${i % 2}`),
          }),
        ),
      );
      assert.ok(results.every(([r]) => r?.outcome === 'delivered'));
      const files = readdirSync(inbox('mike@example.org')).filter((f) => f.endsWith('.ics'));
      assert.equal(files.length, 20);
      assert.ok(
        !readdirSync(inbox('mike@example.org')).some((f) => f.endsWith('.tmp')),
        'no temporary file left',
      );
    } finally {
      client.close();
    }
  });

  it('verify explains a tampered request, and passes the intact one', async () => {
    const body = invitation('mailto:cyrus@example.org');
    const headers: Array<[string, string]> = [
      ['Originator', 'mailto:bernard@example.com'],
      ['Recipient', 'mailto:cyrus@example.org'],
      ['Content-Type', 'text/calendar; component=VEVENT; method=REQUEST'],
      ['iSchedule-Version', '1.0'],
    ];
    const signature = signRequest({ headers, body, key: keys.jupiter, timestamp: 1_800_000_000 });
    const wire = (list: Array<[string, string]>, text: string) =>
      `POST /.well-known/ischedule HTTP/1.1\r\n${[...list, ['DKIM-Signature', signature]].map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n${text}`;
    const good = path.join(dir, 'good.http');
    const bad = path.join(dir, 'bad.http');
    writeFileSync(good, wire(headers, body));
    writeFileSync(bad, wire(headers, body.replace('SUMMARY:CLI', 'SUMMARY:Changed')));
    const record = keyRecord(keys.jupiter.privateKey);
    const ok = await cli(['verify', good, '--key-record', record, '--now', '1800000010']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /PASS\s+signature/);
    const tampered = await cli(['verify', bad, '--key-record', record, '--now', '1800000010']);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stdout, /FAIL\s+body hash\s+body-hash-mismatch/);
    assert.match(tampered.stdout, /skip\s+signature/);
    const late = await cli(['verify', good, '--key-record', record, '--now', '1800009999']);
    assert.match(late.stdout, /FAIL\s+time\s+expired/);
    const viaDns = await cli(['verify', good, '--dns', dnsServer, '--now', '1800000010']);
    assert.equal(viaDns.code, 0, viaDns.stdout);
  });

  it('keygen output round-trips through verify', async () => {
    const made = await cli([
      'keygen',
      '--domain',
      'example.net',
      '--selector',
      'k1',
      '--out',
      path.join(dir, 'k1'),
      '--json',
    ]);
    const { record, files } = JSON.parse(made.stdout);
    const body = invitation('mailto:cyrus@example.org');
    const headers: Array<[string, string]> = [
      ['Originator', 'mailto:x@example.net'],
      ['Recipient', 'mailto:cyrus@example.org'],
      ['Content-Type', 'text/calendar; component=VEVENT; method=REQUEST'],
      ['iSchedule-Version', '1.0'],
    ];
    const key = { domain: 'example.net', selector: 'k1', privateKey: readFileSync(files.private, 'utf8') };
    headers.push(['DKIM-Signature', signRequest({ headers, body, key })]);
    const file = path.join(dir, 'k1.http');
    writeFileSync(
      file,
      `POST / HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n${body}`,
    );
    const result = await cli(['verify', file, '--key-record', record]);
    assert.equal(result.code, 0, result.stdout);
  });

  it('doctor passes a good setup and names the break in a broken one', async () => {
    const good = await cli([
      'doctor',
      'example.org',
      '--selector',
      'cli',
      '--key',
      path.join(dir, 'keys/cli.pem'),
      '--dns',
      dnsServer,
      '--allow-network',
      '127.0.0.0/8',
      '--ca',
      ca(),
    ]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    for (const check of ['SRV', 'TXT path', 'TLS', 'capabilities', 'DKIM key', 'round trip']) {
      assert.match(good.stdout, new RegExp(`PASS\\s+${check}`), check);
    }
    // A -05 record works everywhere but with DAViCal: a warning, not a failure.
    assert.match(
      good.stdout,
      /WARN\s+draft -01 peers\s+DAViCal and EGroupware would refuse this key: s=ischedule does not include calendar: publish s=calendar:ischedule/,
    );
    const wrongKey = await cli([
      'doctor',
      'example.org',
      '--selector',
      'cli',
      '--key',
      jupiterPem,
      '--dns',
      dnsServer,
      '--allow-network',
      '127.0.0.0/8',
      '--ca',
      ca(),
    ]);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stdout, /FAIL\s+round trip\s+.*does not match the published record/);
    const noCa = await cli(['doctor', 'example.org', '--dns', dnsServer, '--allow-network', '127.0.0.1']);
    assert.match(noCa.stdout, /FAIL\s+TLS\s+.*certificate/i);
    // A receiver at a loopback address is unreachable from the Internet: doctor says so.
    const private_ = await cli(['doctor', 'example.org', '--dns', dnsServer, '--ca', ca()]);
    assert.match(private_.stdout, /FAIL\s+TLS\s+.*127\.0\.0\.1 \(a loopback address\).*--allow-network/);
    const nothing = await cli(['doctor', 'nowhere.example', '--dns', dnsServer]);
    assert.match(
      nothing.stdout,
      /FAIL\s+SRV\s+no usable _ischedules\._tcp\.nowhere\.example SRV record: publish/,
    );
  });

  it('doctor passes a key record that draft -01 peers accept', async () => {
    const result = await cli(['doctor', 'example.org', '--selector', 'cal01', '--dns', dnsServer]);
    assert.match(result.stdout, /PASS\s+draft -01 peers\s+DAViCal and EGroupware accept this key record/);
  });

  it('send --draft01 speaks -05 to a -05 receiver; with --queue it points to the config instead', async () => {
    const file = path.join(dir, 'invite-draft01.ics');
    writeFileSync(file, invitation('mailto:cyrus@example.org'));
    const args = ['send', '--from', 'mailto:bernard@example.com', '--to', 'mailto:cyrus@example.org'];
    const sent = await cli([...args, '--draft01', ...signedBy(), file]);
    assert.equal(sent.code, 0, sent.stdout + sent.stderr);
    assert.match(sent.stdout, /mailto:cyrus@example\.org\s+2\.0;Success\s+delivered/);
    const queued = await cli([
      ...args,
      '--queue',
      '--draft01',
      '--config',
      path.join(dir, 'config.json'),
      file,
    ]);
    assert.equal(queued.code, 1);
    assert.match(
      queued.stderr,
      /--draft01 goes without --queue; for the outbox, list the domain in the config's draft01Peers/,
    );
  });

  it('doctor checks an Ed25519 key, and a TXT path= by the rule senders use', async () => {
    const ed25519 = await cli(['doctor', 'example.org', '--selector', 'mars', '--dns', dnsServer]);
    assert.match(
      ed25519.stdout,
      /PASS\s+DKIM key\s+dns\/txt mars\._domainkey\.example\.org: usable for ed25519-sha256/,
    );
    const badPath = await cli(['doctor', 'badpath.example', '--dns', dnsServer]);
    assert.match(badPath.stdout, /FAIL\s+TXT path\s+"path=ischedule" is not a path senders accept/);
  });

  it('discover shows the receiver and its capabilities', async () => {
    const result = await cli([
      'discover',
      'example.org',
      '--dns',
      dnsServer,
      '--ca',
      ca(),
      '--allow-network',
      '127.0.0.0/8',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /receiver\s+https:\/\/cal\.example\.org:\d+\/\.well-known\/ischedule/);
    assert.match(result.stdout, /VFREEBUSY\s+REQUEST/);
    // DNS answers are untrusted: without the allowance, a loopback receiver is not contacted.
    const refused = await cli(['discover', 'example.org', '--dns', dnsServer, '--ca', ca()]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /127\.0\.0\.1 \(a loopback address\)/);
    const bad = await cli(['discover', 'example.org', '--dns', dnsServer, '--allow-network', 'lan']);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /--allow-network must be a network \(CIDR like 10\.0\.0\.0\/8, or one address\), not "lan"/,
    );
  });
});

describe('ischedule serve refuses a bad config, naming the key', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ischedule-config-'));
  const base = {
    domains: ['example.org'],
    users: ['mailto:a@example.org'],
    dataDir: 'd',
    signing: { domain: 'example.org', selector: 's' },
  };
  const cases: Array<[string, object, RegExp]> = [
    ['domains', { domains: [] }, /domains must be a non-empty array of domain names, not an empty array/],
    ['users', { users: ['mailto:a@elsewhere.example'] }, /users\[0\] .* is not in any of domains/],
    ['listen.port', { listen: { port: 99999 } }, /listen\.port must be a port number \(0-65535\), not 99999/],
    ['tls.cert', { tls: { key: 'k.pem' } }, /tls\.cert is required/],
    [
      'keys.methods',
      { keys: { methods: ['carrier-pigeon'] } },
      /keys\.methods\[0\] must be one of dns\/txt, http\/well-known, private-exchange, not "carrier-pigeon"/,
    ],
    ['keys.dns.servers', { keys: { dns: { servers: ['a:b:c'] } } }, /keys\.dns\.servers\[0\]/],
    ['signing.domain', { signing: { selector: 's' } }, /signing\.domain is required/],
    [
      'allowNetworks',
      { allowNetworks: ['10.0.0.0/40'] },
      /allowNetworks\[0\] must be a network \(CIDR like 10\.0\.0\.0\/8, or one address\), not "10\.0\.0\.0\/40"/,
    ],
    [
      'http.headersTimeout',
      { http: { headersTimeout: 0 } },
      /http\.headersTimeout must be a positive integer/,
    ],
    ['http.idle', { http: { idle: 5 } }, /http\.idle is not an option \(known: maxConnections, /],
    [
      'inboxQuota.messages',
      { inboxQuota: { messages: -1 } },
      /inboxQuota\.messages must be a positive integer/,
    ],
    ['policy', { polcy: {} }, /polcy is not an option: did you mean "policy"\?/],
    [
      'policy.clockSkew',
      { policy: { clockSkew: '300' } },
      /policy\.clockSkew must be a number of seconds, not "300"/,
    ],
    ['limits', { limits: { maxLines: 'many' } }, /limits\.maxLines must be a positive integer, not "many"/],
  ];
  for (const [key, override, pattern] of cases) {
    it(`names ${key}`, async () => {
      const file = path.join(dir, `${key}.json`);
      writeFileSync(file, JSON.stringify({ ...base, ...override }));
      const result = await cli(['serve', '--config', file]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, pattern);
    });
  }
  it('names a TLS file that does not exist, and a signing key file that is not a key', async () => {
    const missing = path.join(dir, 'missing-tls.json');
    writeFileSync(missing, JSON.stringify({ ...base, tls: { cert: 'nope.pem', key: 'nope.key' } }));
    const noTls = await cli(['serve', '--config', missing]);
    assert.equal(noTls.code, 1);
    assert.match(noTls.stderr, /tls\.cert: no file at .*nope\.pem/);
    writeFileSync(path.join(dir, 'garbage.pem'), 'not a key');
    const garbage = path.join(dir, 'garbage-key.json');
    writeFileSync(
      garbage,
      JSON.stringify({
        ...base,
        tls: false,
        listen: { port: 0 },
        signing: { domain: 'example.org', selector: 's', privateKeyFile: 'garbage.pem' },
      }),
    );
    const badKey = await cli(['serve', '--config', garbage]);
    assert.equal(badKey.code, 1);
    assert.match(
      badKey.stderr,
      /cannot start the server: options\.signing \(s\._domainkey\.example\.org\) is not a private key in PEM/,
    );
    assert.doesNotMatch(badKey.stderr, /internal error|\n\s+at /);
  });

  it('says when the file is not JSON', async () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{ nope');
    const result = await cli(['serve', '--config', file]);
    assert.match(result.stderr, /is not JSON/);
  });
});

describe('npm run demo (ischedule demo)', () => {
  it('runs two domains: invitation, reply and free-busy all delivered, files listed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ischedule-demo-'));
    const result = await cli(['demo', '--dir', dir]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      /1\. alice@alpha\.example invites[\s\S]*mailto:bob@beta\.example\s+2\.0;Success\s+delivered/,
    );
    assert.match(
      result.stdout,
      /2\. bob@beta\.example accepts[\s\S]*mailto:alice@alpha\.example\s+2\.0;Success/,
    );
    assert.match(result.stdout, /FREEBUSY;FBTYPE=BUSY:20300107T120000Z\/20300107T130000Z/);
    assert.equal(readdirSync(path.join(dir, 'beta.example', 'bob@beta.example', 'inbox')).length, 1);
  });
});
