/**
 * The client's draft -01 profile (`draft01Peers`): a listed domain whose receiver answers 404 to
 * `?action=capabilities` and a -01 document to `?query=capabilities` is sent requests signed the
 * -01 way (Host signed on each hop); its text/plain refusals are read; nobody else is affected.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createSelfSignedCertificate } from '../../lib/tls/certificate.js';
import { createIScheduleHandler, IScheduleClient, type IScheduleRouterOptions } from '../support/api.js';
import { itipMessage, keys, testKeyResolver } from '../support/fixtures.js';
import { startHttpsServer } from '../support/https-server.js';

const certificate = createSelfSignedCertificate({ altNames: ['127.0.0.1'] });

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
}

interface Peer {
  readonly url: string;
  readonly seen: Seen[];
  readonly delivered: string[];
  close(): Promise<void>;
}

/**
 * A receiver that speaks only -01 to the outside, as DAViCal does: 404 for `?action=`, our own
 * handler (with the -01 profile) for the rest. `answer` may take a request over instead.
 */
async function startPeer(
  options: {
    draft01?: boolean;
    answer?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
    router?: Partial<IScheduleRouterOptions<string>>;
    https?: boolean;
  } = {},
): Promise<Peer> {
  const seen: Seen[] = [];
  const delivered: string[] = [];
  const handler = createIScheduleHandler<string>({
    domains: ['example.org'],
    keys: testKeyResolver(),
    draft01Peers: ['example.com'],
    adapter: {
      lookupUser: ({ address }) => (address.toLowerCase().startsWith('mailto:cyrus@') ? 'cyrus' : null),
      deliverToInbox: ({ recipient }) => {
        delivered.push(recipient);
      },
      getFreeBusy: () => [],
    },
    ...options.router,
  });
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: { ...(req.headers as Record<string, string>) },
    });
    if (options.answer?.(req, res)) return;
    if ((options.draft01 ?? true) && req.url?.includes('action=capabilities')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    handler(req, res);
  };
  if (options.https) {
    const server = await startHttpsServer([], listener, certificate);
    return {
      url: `https://127.0.0.1:${server.port}/.well-known/ischedule`,
      seen,
      delivered,
      close: () => server.close(),
    };
  }
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/ischedule`,
    seen,
    delivered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const invite = (attendees = ['mailto:cyrus@example.org']) => ({
  originator: 'mailto:bernard@example.com',
  recipients: attendees,
  calendar: itipMessage(`draft01-${Math.random()}`, { attendees }),
});

function client(url: string, draft01Peers?: string[], extra: Record<string, string> = {}, ca?: string[]) {
  return new IScheduleClient({
    ...(ca && { tls: { ca } }),
    signing: keys.jupiter,
    overrides: { 'example.org': url, ...extra },
    dns: { servers: ['127.0.0.1:9'] },
    attempts: 1,
    ...(draft01Peers && { draft01Peers }),
  });
}

describe('sending to a draft -01 receiver listed in draft01Peers', () => {
  let peer: Peer;
  before(async () => {
    peer = await startPeer();
  });
  after(() => peer.close());

  it('reads ?query=capabilities after a 404 and signs -01: c=simple-http, q=dns/txt, Host signed', async () => {
    const sender = client(peer.url, ['example.org']);
    try {
      const [result] = await sender.send(invite());
      assert.equal(result?.outcome, 'delivered', result?.description);
      assert.equal(result?.code, '2.0');
      assert.deepEqual(peer.delivered, ['mailto:cyrus@example.org']);
      const gets = peer.seen.filter((s) => s.method === 'GET').map((s) => new URL(s.url, 'http://x').search);
      assert.deepEqual(gets, ['?action=capabilities', '?query=capabilities']);
      const postSeen = peer.seen.find((s) => s.method === 'POST')!;
      const signature = postSeen.headers['dkim-signature']!;
      assert.match(signature, /; c=simple-http; q=dns\/txt; /);
      assert.match(signature, /; h=Host:iSchedule-Version:Originator:Recipient:Content-Type; /);
      assert.equal(postSeen.headers['ischedule-version'], '1.0');
      assert.equal(postSeen.headers.host, new URL(peer.url).host);
      // The capabilities are kept: a second message asks nothing again.
      await sender.send(invite());
      assert.equal(peer.seen.filter((s) => s.method === 'GET').length, 2);
    } finally {
      sender.close();
    }
  });

  it('signs Host afresh when a redirect takes the POST to another host', async () => {
    const target = await startPeer({ https: true });
    const front = await startPeer({
      https: true,
      answer: (req, res) => {
        if (req.method !== 'POST') return false;
        res.writeHead(307, { location: target.url }).end();
        return true;
      },
    });
    // Both origins are the operator's own (overrides), so the redirect between them is followed.
    const sender = client(front.url, ['example.org'], { 'example.net': target.url }, [certificate.cert]);
    try {
      const [result] = await sender.send(invite());
      assert.equal(result?.outcome, 'delivered', result?.description);
      const hosts = [front, target].map((p) => p.seen.find((s) => s.method === 'POST')?.headers.host);
      assert.deepEqual(hosts, [new URL(front.url).host, new URL(target.url).host]);
      const signatures = [front, target].map(
        (p) => p.seen.find((s) => s.method === 'POST')?.headers['dkim-signature'],
      );
      assert.notEqual(signatures[0], signatures[1]);
      assert.deepEqual(target.delivered, ['mailto:cyrus@example.org']);
    } finally {
      sender.close();
      await front.close();
      await target.close();
    }
  });

  it('reads a text/plain refusal: its first line in the description; a 500 is a refusal, not a retry', async () => {
    const refusing = (status: number, text: string) =>
      startPeer({
        answer: (req, res) => {
          if (req.method !== 'POST') return false;
          res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
          return true;
        },
      });
    const precondition = await refusing(
      412,
      '\nDKIM signature validation failed(Signature verification ERROR)\nkey: ...',
    );
    const broken = await refusing(500, 'PHP error');
    const s1 = client(precondition.url, ['example.org']);
    const s2 = client(broken.url, ['example.org']);
    try {
      const [refused] = await s1.send(invite());
      assert.equal(refused?.outcome, 'refused');
      assert.equal(refused?.code, '5.2');
      assert.equal(
        refused?.description,
        'HTTP 412: DKIM signature validation failed(Signature verification ERROR)',
      );
      const [failed] = await s2.send(invite());
      assert.equal(failed?.outcome, 'refused');
      assert.equal(failed?.description, 'HTTP 500: PHP error');
    } finally {
      s1.close();
      s2.close();
      await precondition.close();
      await broken.close();
    }
  });
});

describe('the profile changes nothing for anybody else', () => {
  it('a listed domain whose receiver speaks -05 is sent -05', async () => {
    const peer = await startPeer({ draft01: false });
    const sender = client(peer.url, ['example.org']);
    try {
      const [result] = await sender.send(invite());
      assert.equal(result?.outcome, 'delivered', result?.description);
      const postSeen = peer.seen.find((s) => s.method === 'POST')!;
      assert.match(postSeen.headers['dkim-signature']!, /c=ischedule-relaxed\/simple/);
      assert.equal(peer.seen.filter((s) => s.method === 'GET').length, 1);
    } finally {
      sender.close();
      await peer.close();
    }
  });

  it('a -01 receiver of a domain not listed is never asked ?query=: the failure says what to list', async () => {
    const peer = await startPeer();
    const sender = client(peer.url, ['example.net']);
    try {
      const [result] = await sender.send(invite());
      assert.equal(result?.outcome, 'temporary-failure');
      assert.match(
        result?.description ?? '',
        /answered HTTP 404 to the capabilities query \(a draft -01 receiver such as DAViCal answers only \?query=capabilities: list its domain in draft01Peers\)/,
      );
      assert.equal(peer.seen.length, 1);
      assert.equal(peer.delivered.length, 0);
    } finally {
      sender.close();
      await peer.close();
    }
  });

  it('a 500 from a -05 receiver stays a temporary failure', async () => {
    const peer = await startPeer({
      draft01: false,
      answer: (req, res) => {
        if (req.method !== 'POST') return false;
        res.writeHead(500, { 'content-type': 'text/plain' }).end('busy');
        return true;
      },
    });
    const sender = client(peer.url, ['example.org']);
    try {
      const [result] = await sender.send(invite());
      assert.equal(result?.outcome, 'temporary-failure');
      assert.equal(result?.description, 'HTTP 500: busy');
    } finally {
      sender.close();
      await peer.close();
    }
  });
});
