/** How the client reads what receivers answer, from a scripted receiver on loopback (http override). */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AddressPolicy, buildCapabilities, IScheduleClient } from '../support/api.js';
import { fixture, keys } from '../support/fixtures.js';
import { needsVectors, vectorFile } from '../support/vectors.js';

type Script = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

const caps = buildCapabilities({
  serialNumber: 1,
  versions: ['1.0'],
  schedulingMessages: { VEVENT: [], VFREEBUSY: ['REQUEST'] },
  calendarDataTypes: [{ contentType: 'text/calendar', version: '2.0' }],
  attachments: { inline: false, external: true },
});

describe('reading receivers’ answers', () => {
  let server: http.Server;
  let base: string;
  let script: Script = () => undefined;
  const posts: Array<{ path: string; headers: string[]; body: string }> = [];
  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        if (req.method === 'GET' && req.url?.includes('action=capabilities')) {
          res.writeHead(200, { 'Content-Type': 'text/xml', 'iSchedule-Capabilities': '1' }).end(caps);
          return;
        }
        posts.push({ path: req.url ?? '', headers: req.rawHeaders, body });
        script(req, body, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const send = (options: Partial<ConstructorParameters<typeof IScheduleClient>[0]> = {}) => {
    const client = new IScheduleClient({
      signing: keys.jupiter,
      overrides: { 'example.org': `${base}/isched` },
      dns: { servers: ['127.0.0.1:9'] },
      ...options,
    });
    return client
      .send({
        originator: 'mailto:bernard@example.com',
        recipients: ['mailto:cyrus@example.org'],
        calendar: fixture('draft/a1-request.ics').toString(),
      })
      .finally(() => client.close());
  };
  const xmlAnswer =
    (status: number, xml: string): Script =>
    (_req, _body, res) => {
      res.writeHead(status, { 'Content-Type': 'application/xml' }).end(xml);
    };

  it('sends the headers it signed, exactly: one Recipient, explicit User-Agent, Cache-Control', async () => {
    script = xmlAnswer(
      200,
      '<schedule-response xmlns="urn:ietf:params:xml:ns:ischedule"><response><recipient>mailto:cyrus@example.org</recipient><request-status>2.0;Success</request-status></response></schedule-response>',
    );
    await send();
    const headers = posts.at(-1)!.headers;
    const names = headers.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    assert.equal(names.filter((n) => n === 'recipient').length, 1);
    for (const name of [
      'originator',
      'content-type',
      'user-agent',
      'ischedule-version',
      'ischedule-message-id',
      'cache-control',
      'dkim-signature',
    ]) {
      assert.ok(names.includes(name), name);
    }
    const value = (name: string) =>
      headers[headers.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name) + 1];
    assert.equal(value('cache-control'), 'no-cache, no-transform');
    assert.equal(value('content-type'), 'text/calendar; charset=utf-8; component=VEVENT; method=REQUEST');
    assert.match(
      value('dkim-signature') ?? '',
      /h=Originator:Recipient:Content-Type:User-Agent:iSchedule-Version:iSchedule-Message-ID;/,
    );
  });

  it("treats Apple's 1.2 as delivered and reads its schedule-response", needsVectors, async () => {
    script = xmlAnswer(
      200,
      vectorFile('xml/schedule-response.xml')
        .toString()
        .replace('mailto:user01@example.org', 'mailto:cyrus@example.org'),
    );
    const [result] = await send();
    assert.equal(result?.code, '1.2');
    assert.equal(result?.outcome, 'delivered');
  });

  it('gives every recipient the IS:error of a refused request, with its element', async () => {
    script = xmlAnswer(
      403,
      '<error xmlns="urn:ietf:params:xml:ns:ischedule"><verification-failed/><response-description>bad sig</response-description></error>',
    );
    const [result] = await send();
    assert.deepEqual(
      [result?.outcome, result?.error, result?.code],
      ['refused', 'verification-failed', '5.2'],
    );
    assert.match(result?.description ?? '', /bad sig/);
  });

  it('reads a DAV:error wrapper (CalendarServer) and bare non-XML failures', needsVectors, async () => {
    script = xmlAnswer(403, vectorFile('xml/error-originator-missing-DAV-error.xml').toString());
    assert.equal((await send())[0]?.error, 'originator-missing');
    script = (_req, _body, res) =>
      res.writeHead(500, { 'Content-Type': 'text/html' }).end('<html>oops</html>');
    const [result] = await send();
    assert.deepEqual([result?.outcome, result?.code], ['temporary-failure', '5.1']);
  });

  it('retries a 503 with a short Retry-After, then takes the answer', async () => {
    let calls = 0;
    script = (_req, _body, res) => {
      calls++;
      if (calls === 1) res.writeHead(503, { 'Retry-After': '0' }).end();
      else
        xmlAnswer(
          200,
          '<schedule-response xmlns="urn:ietf:params:xml:ns:ischedule"><response><recipient>mailto:cyrus@example.org</recipient><request-status>2.0;Success</request-status></response></schedule-response>',
        )(_req, _body, res);
    };
    const [result] = await send();
    assert.equal(calls, 2);
    assert.equal(result?.outcome, 'delivered');
  });

  it('re-POSTs on 301/302/307/308 with the same signature, but at most 3 hops', async () => {
    const before = posts.length;
    script = (req, _body, res) => {
      const hop = Number(/hop=(\d)/.exec(req.url ?? '')?.[1] ?? 0);
      if (hop < 3) res.writeHead([301, 302, 307][hop]!, { Location: `/isched?hop=${hop + 1}` }).end();
      else
        xmlAnswer(
          200,
          '<schedule-response xmlns="urn:ietf:params:xml:ns:ischedule"><response><recipient>mailto:cyrus@example.org</recipient><request-status>2.0;Success</request-status></response></schedule-response>',
        )(req, _body, res);
    };
    const [result] = await send();
    assert.equal(result?.outcome, 'delivered');
    const sent = posts.slice(before);
    assert.equal(sent.length, 4);
    assert.ok(
      sent.every((p) => p.body === sent[0]!.body),
      'the body is re-sent, not dropped (no GET)',
    );
    script = (_req, _body, res) => res.writeHead(308, { Location: '/isched?loop' }).end();
    const [looped] = await send();
    // A redirect loop is the receiver's misconfiguration: retrying the same way cannot help.
    assert.deepEqual([looped?.outcome, looped?.code], ['refused', '5.2']);
    assert.match(looped?.description ?? '', /more than 3 redirects/);
  });

  it('treats a 200 whose body is hostile or not a schedule-response as a temporary failure', async () => {
    for (const xml of [
      '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "x">]><schedule-response xmlns="urn:ietf:params:xml:ns:ischedule">&a;</schedule-response>',
      '<html><body>welcome</body></html>',
      '<schedule-response xmlns="urn:ietf:params:xml:ns:ischedule"><response>',
    ]) {
      script = xmlAnswer(200, xml);
      const [result] = await send();
      assert.equal(result?.outcome, 'temporary-failure', xml);
      assert.match(result?.description ?? '', /unreadable schedule-response/);
    }
    // A well-formed answer that leaves the recipient out does not count as delivered either.
    script = xmlAnswer(200, '<schedule-response xmlns="urn:ietf:params:xml:ns:ischedule"/>');
    assert.match((await send())[0]?.description ?? '', /did not answer for this recipient/);
  });

  it('bounds the size of the answer it reads', async () => {
    script = (_req, _body, res) =>
      res.writeHead(200, { 'Content-Type': 'application/xml' }).end('x'.repeat(5000));
    const [result] = await send({ maxResponseBytes: 1000 });
    assert.equal(result?.outcome, 'temporary-failure');
    assert.match(result?.description ?? '', /over 1000 octets/);
  });

  it('refuses to follow a redirect from https to http', async () => {
    const { Exchange } = await import('../../lib/sender/exchange.js');
    const { DnsClient } = await import('../../lib/dns/client.js');
    const https = await import('node:https');
    const { createSelfSignedCertificate } = await import('../../lib/tls/certificate.js');
    const { cert, key } = createSelfSignedCertificate({ altNames: ['127.0.0.1'] });
    const tls = https.createServer({ cert, key }, (_req, res) =>
      res.writeHead(301, { Location: `${base}/isched` }).end(),
    );
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    const exchange = new Exchange({
      dns: new DnsClient({ servers: ['127.0.0.1:9'] }),
      timeout: 2000,
      maxResponseBytes: 1000,
      ca: cert,
      rejectUnauthorized: true,
      attempts: 1,
      backoffMs: 1,
      maxRetryAfterMs: 0,
      policy: new AddressPolicy(['127.0.0.0/8']),
      trustedOrigins: new Set<string>(),
    });
    try {
      const url = new URL(`https://127.0.0.1:${(tls.address() as AddressInfo).port}/isched`);
      await assert.rejects(
        exchange.post(url, [], Buffer.from('x')),
        /redirected to http: \(only https is followed\)/,
      );
    } finally {
      exchange.close();
      tls.closeAllConnections();
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    }
  });
});
