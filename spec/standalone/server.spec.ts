/**
 * `ischedule serve` under abuse: short error answers, slow and idle connections cut off, a cap on
 * connections, and per-user inbox quotas.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { httpRequest } from '../../lib/http/request.js';
import { HTTP_DEFAULTS, parseConfig, type ServerConfig } from '../../lib/standalone/config.js';
import { type RunningServer, startServer } from '../../lib/standalone/server.js';
import { keyRecord, type Logger } from '../support/api.js';
import { draftHeaders, fixture, keys } from '../support/fixtures.js';
import { post } from '../support/receiver.js';

const base = (dataDir: string, extra: Partial<ServerConfig> = {}): ServerConfig => ({
  listen: { host: '127.0.0.1', port: 0 },
  tls: false,
  domains: ['example.org'],
  users: ['mailto:cyrus@example.org', 'mailto:mike@example.org'],
  dataDir,
  signing: { domain: 'example.org', selector: 's', privateKeyFile: path.join(dataDir, 's.pem') },
  keys: {
    methods: ['private-exchange'],
    privateExchange: { 'jupiter._domainkey.example.com': keyRecord(keys.jupiter.privateKey) },
  },
  ...extra,
});

async function withServer(
  extra: Partial<ServerConfig>,
  test: (server: RunningServer) => Promise<void>,
  logger: Logger = {},
): Promise<void> {
  const server = await startServer(base(mkdtempSync(path.join(tmpdir(), 'serve-')), extra), logger);
  try {
    await test(server);
  } finally {
    await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 1000))]);
  }
}

/** A client that sends `start`, then `chunk` every 200 ms, until the server closes on it. */
function dripping(port: number, start: string, chunk: string) {
  return holdOpen(
    port,
    (s) => {
      s.write(start);
      const drip = setInterval(() => s.write(chunk), 200);
      s.on('close', () => clearInterval(drip));
    },
    10_000,
  );
}

/** A raw TCP client; resolves to how long the server kept the connection, in ms. */
function holdOpen(port: number, write: (socket: net.Socket) => void, limitMs: number): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => write(socket));
    socket.on('error', () => undefined);
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), limitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

describe('ischedule serve', () => {
  it('answers malformed and unknown URLs briefly, without stack traces or file paths', async () => {
    await withServer({}, async (server) => {
      for (const [target, status] of [
        ['/.well-known/domainkey/%ZZ/s', 400],
        ['/%ZZ', 404],
        ['/.well-known/ischedule/%ZZ', 404],
      ] as const) {
        const response = await httpRequest({
          url: new URL(target, server.url),
          timeout: 5000,
          maxBytes: 65536,
        });
        const text = response.body.toString();
        assert.equal(response.status, status, target);
        assert.ok(text.length < 40, `${target}: ${text}`);
        assert.doesNotMatch(text, /at |\/work|node_modules|<pre>|Error/);
      }
    });
  });

  it('closes slow headers, slow bodies and unfinished TLS handshakes by their timeouts', async () => {
    const http = { headersTimeout: 1000, requestTimeout: 2000 };
    await withServer({ http }, async (server) => {
      const [slowHeaders, slowBody] = await Promise.all([
        // Headers that never end, and a body that never ends, a little every 200 ms.
        dripping(server.port, 'POST /.well-known/ischedule HTTP/1.1\r\nHost: x\r\n', 'X-A: b\r\n'),
        dripping(
          server.port,
          'POST /.well-known/ischedule HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n',
          'a',
        ),
      ]);
      assert.ok(slowHeaders < 2500, `slow headers held ${slowHeaders} ms`);
      assert.ok(slowBody < 3500, `slow body held ${slowBody} ms`);
    });
    await withServer({ tls: 'self-signed', http: { tlsHandshakeTimeout: 1000 } }, async (server) => {
      const silent = await holdOpen(server.port, () => undefined, 10_000);
      assert.ok(silent < 2500, `a connection without a handshake held ${silent} ms`);
    });
  });

  it('accepts at most maxConnections at once', async () => {
    await withServer({ http: { maxConnections: 5 } }, async (server) => {
      const sockets = await Promise.all(
        Array.from(
          { length: 10 },
          () =>
            new Promise<net.Socket>((resolve) => {
              const socket = net.connect(server.port, '127.0.0.1', () => resolve(socket));
              socket.on('error', () => undefined);
            }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const open = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
      for (const socket of sockets) socket.destroy();
      assert.equal(open, 5);
    });
  });

  it('has the documented defaults', () => {
    const config = parseConfig(
      {
        domains: ['example.org'],
        users: [],
        dataDir: 'd',
        signing: { domain: 'example.org', selector: 's' },
      },
      '/tmp',
    );
    assert.deepEqual(config.http, HTTP_DEFAULTS);
    assert.deepEqual(HTTP_DEFAULTS, {
      maxConnections: 512,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
      tlsHandshakeTimeout: 10_000,
    });
  });

  it('takes draft01Peers from the config file: the receiver serves the -01 capabilities and key record', async () => {
    const file = (draft01Peers: unknown) => ({
      domains: ['example.org'],
      users: [],
      dataDir: 'd',
      signing: { domain: 'example.org', selector: 's' },
      draft01Peers,
    });
    assert.deepEqual(parseConfig(file(['davical.test']), '/tmp').draft01Peers, ['davical.test']);
    assert.throws(() => parseConfig(file(['not a domain']), '/tmp'), /draft01Peers/);
    await withServer({ draft01Peers: ['davical.test'] }, async (server) => {
      const get = (url: string) => httpRequest({ url: new URL(url), timeout: 5000, maxBytes: 1 << 16 });
      const caps = await get(`${server.url}?query=capabilities`);
      assert.equal(caps.status, 200);
      assert.match(caps.body.toString(), /<capability-set>/);
      const key = await get(`${new URL(server.url).origin}/.well-known/domainkey/example.org/s`);
      assert.match(key.body.toString(), /s=calendar:ischedule/);
    });
  });

  it("keeps each user's inbox within its quota: that recipient gets 5.1, the others their message", async () => {
    const warnings: Array<Record<string, unknown> | undefined> = [];
    const invitation = fixture('draft/a1-request.ics')
      .toString()
      .replace('END:VEVENT', 'ATTENDEE:mailto:mike@example.org\r\nEND:VEVENT');
    await withServer(
      { inboxQuota: { messages: 2 } },
      async (server) => {
        const receiver = { url: new URL(server.url).origin, delivered: [], close: async () => undefined };
        const send = (recipients: string[]) =>
          post(receiver, {
            headers: draftHeaders({ recipients }),
            body: invitation,
            sign: { queryMethods: ['private-exchange'] },
          });
        for (let i = 0; i < 2; i++) assert.equal((await send(['mailto:cyrus@example.org'])).status, 200);
        const third = await send(['mailto:cyrus@example.org', 'mailto:mike@example.org']);
        assert.equal(third.status, 200, third.text);
        assert.deepEqual(
          third.responses?.map((r) => [r.recipient, r.requestStatus]),
          [
            ['mailto:cyrus@example.org', '5.1;Service unavailable'],
            ['mailto:mike@example.org', '2.0;Success'],
          ],
        );
        assert.match(third.responses?.[0]?.description ?? '', /inbox is full/);
      },
      { warn: (_message, details) => warnings.push(details) },
    );
    assert.deepEqual(
      warnings.map((w) => w?.recipient),
      ['mailto:cyrus@example.org'],
    );
  });
});
