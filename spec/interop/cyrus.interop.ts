/**
 * Against real peers from Debian's packages (../shared/interop): Cyrus IMAP 3.6 as a receiver,
 * and dkimpy as a second DKIM implementation. Needs `peers.sh install` (root) and
 * `peers.sh start cyrus`; .ci/run does both. Not part of the hermetic `npm test`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Exchange } from '../../lib/sender/exchange.js';
import {
  AddressPolicy,
  DnsClient,
  IScheduleClient,
  keyRecord,
  parseError,
  parseScheduleResponse,
  privateExchangeKeys,
  signRequest,
  verifyRequest,
} from '../support/api.js';
import { fixture, keys } from '../support/fixtures.js';
import { startReceiver } from '../support/receiver.js';
import { davicalSend, INTEROP } from './davical-send.js';

const ROOT = process.env.ISCHEDULE_PEERS_ROOT ?? path.join(process.env.TMPDIR ?? '/tmp', 'ischedule-peers');
const CA = path.join(ROOT, 'cyrus', 'tls', 'cert.pem');
const WELL_KNOWN = 'https://127.0.0.1:8443/.well-known/ischedule';
const ready = existsSync(CA) && existsSync(path.join(INTEROP, 'dkimpy_ischedule.py'));
const needsPeers = ready
  ? {}
  : { skip: `Cyrus peer not started (no ${CA}); run ${INTEROP}/peers.sh start cyrus` };

const invitation = (recipients: string[]) =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//express-ischedule interop//EN',
    'METHOD:REQUEST',
    'BEGIN:VEVENT',
    `UID:interop-${Date.now()}-${Math.random()}@example.com`,
    'DTSTAMP:20260101T000000Z',
    'DTSTART:20260105T100000Z',
    'DTEND:20260105T110000Z',
    'SUMMARY:Interop',
    'ORGANIZER:mailto:bernard@example.com',
    'ATTENDEE;PARTSTAT=ACCEPTED:mailto:bernard@example.com',
    ...recipients.map((r) => `ATTENDEE;RSVP=TRUE:${r}`),
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');

describe('Cyrus IMAP 3.6 (receiver, -05/-06)', needsPeers, () => {
  const ca = ready ? readFileSync(CA, 'utf8') : '';
  const client = new IScheduleClient({
    signing: keys.jupiter,
    overrides: { 'cyrus.test': WELL_KNOWN },
    tls: { ca },
    dns: { servers: ['127.0.0.1:9'] },
  });
  after(() => client.close());

  it('reads its capabilities through its 301 from the well-known path', async () => {
    const cached = await client.getCapabilities(new URL(WELL_KNOWN));
    assert.equal(cached.url.href, 'https://127.0.0.1:8443/ischedule');
    const caps = cached.capabilities;
    assert.ok((caps.serialNumber ?? 0) > 1, 'a large serial (mtime based)');
    assert.deepEqual(caps.versions, ['1.0']);
    assert.deepEqual(caps.schedulingMessages.VFREEBUSY, ['REQUEST']);
    assert.ok(caps.schedulingMessages.VPOLL?.includes('POLLSTATUS'));
    assert.equal(caps.maxInstances, undefined, 'Cyrus sends no max-instances');
    assert.equal(caps.maxRecipients, undefined, 'Cyrus sends an empty max-recipients');
    assert.deepEqual(caps.attachments, { inline: true, external: false });
  });

  it('delivers to its users (2.0) and answers 3.7 for an unknown one', async () => {
    const recipients = ['mailto:bob@cyrus.test', 'mailto:carol@cyrus.test', 'mailto:nobody@cyrus.test'];
    const results = await client.send({
      originator: 'mailto:bernard@example.com',
      recipients,
      calendar: invitation(recipients),
    });
    assert.deepEqual(
      results.map((r) => [r.recipient, r.code, r.outcome]),
      [
        ['mailto:bob@cyrus.test', '2.0', 'delivered'],
        ['mailto:carol@cyrus.test', '2.0', 'delivered'],
        ['mailto:nobody@cyrus.test', '3.7', 'refused'],
      ],
    );
  });

  const exchange = new Exchange({
    dns: new DnsClient({ servers: ['127.0.0.1:9'] }),
    timeout: 10_000,
    maxResponseBytes: 1 << 20,
    ca,
    rejectUnauthorized: true,
    attempts: 1,
    backoffMs: 1,
    maxRetryAfterMs: 0,
    policy: new AddressPolicy(['127.0.0.0/8']),
    trustedOrigins: new Set<string>(),
  });
  after(() => exchange.close());
  const signedHeaders = (version = '1.0'): Array<[string, string]> => {
    const headers: Array<[string, string]> = [
      ['Originator', 'mailto:bernard@example.com'],
      ['Recipient', 'mailto:bob@cyrus.test'],
      ['Content-Type', 'text/calendar; charset=utf-8; component=VEVENT; method=REQUEST'],
      ['iSchedule-Version', version],
      ['iSchedule-Message-ID', `interop-${Math.random()}`],
      ['Cache-Control', 'no-cache, no-transform'],
    ];
    return headers;
  };

  it('re-POSTs its 301 from the well-known path (a POST that stays a POST)', async () => {
    const body = Buffer.from(invitation(['mailto:bob@cyrus.test']));
    const headers = signedHeaders();
    headers.push(['DKIM-Signature', signRequest({ headers, body, key: keys.jupiter })]);
    const { response, finalUrl } = await exchange.post(new URL(WELL_KNOWN), headers, body);
    assert.equal(finalUrl.pathname, '/ischedule');
    assert.equal(response.status, 200);
    assert.equal(parseScheduleResponse(response.body.toString())[0]?.requestStatus.slice(0, 3), '2.0');
  });

  it('answers malformed requests with IS:error bodies the client reads', async () => {
    const body = Buffer.from(invitation(['mailto:bob@cyrus.test']));
    const headers = signedHeaders('2.0');
    const { response } = await exchange.post(new URL('https://127.0.0.1:8443/ischedule'), headers, body);
    assert.equal(response.status, 400);
    assert.equal(parseError(response.body.toString()).code, 'version-not-supported');
  });
});

describe('a draft -01 sender (DAViCal style, c=simple-http) gets a precise refusal', needsPeers, () => {
  it('answers 403 verification-failed naming the canonicalization, and delivers nothing', async () => {
    const receiver = await startReceiver({
      keys: privateExchangeKeys({ 'jupiter._domainkey.example.com': keyRecord(keys.jupiter.privateKey) }),
    });
    try {
      const out = await davicalSend(`${receiver.url}/.well-known/ischedule`, 'mailto:cyrus@example.org');
      assert.match(out, /<<< 403/);
      assert.match(out, /verification-failed/);
      assert.match(out, /canonicalization c=simple-http is not supported/);
      assert.equal(receiver.delivered.length, 0);
    } finally {
      await receiver.close();
    }
  });
});

describe('dkimpy (a second DKIM implementation) agrees with ours', needsPeers, () => {
  const dkimpy = path.join(INTEROP, 'dkimpy_ischedule.py');
  const dir = ready ? mkdtempSync(path.join(tmpdir(), 'dkimpy-')) : '';
  const body = fixture('draft/a1-request.ics');
  const headers: Array<[string, string]> = [
    ['Host', 'cal.example.org'],
    ['Originator', 'mailto:bernard@example.com'],
    ['Recipient', 'mailto:cyrus@example.org,mailto:mike@example.org'],
    ['Content-Type', 'text/calendar; charset=utf-8; component=VEVENT; method=REQUEST'],
    ['User-Agent', 'express-ischedule'],
    ['iSchedule-Version', '1.0'],
    ['iSchedule-Message-ID', 'dkimpy-1'],
    ['Cache-Control', 'no-cache, no-transform'],
  ];
  const wire = (list: Array<[string, string]>) =>
    Buffer.concat([
      Buffer.from(
        `POST /.well-known/ischedule HTTP/1.1\r\n${list.map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n`,
      ),
      body,
    ]);

  it('dkimpy verifies what we sign', () => {
    const signature = signRequest({ headers, body, key: keys.jupiter });
    writeFileSync(path.join(dir, 'request.http'), wire([...headers, ['DKIM-Signature', signature]]));
    writeFileSync(path.join(dir, 'key.txt'), keyRecord(keys.jupiter.privateKey));
    const out = execFileSync('python3', [
      dkimpy,
      'verify',
      path.join(dir, 'request.http'),
      path.join(dir, 'key.txt'),
    ]).toString();
    assert.match(out, /dkimpy verify: PASS/);
  });

  it('we verify what dkimpy signs', async () => {
    writeFileSync(path.join(dir, 'unsigned.http'), wire(headers));
    writeFileSync(path.join(dir, 'key.pem'), keys.jupiter.privateKey);
    const now = Math.floor(Date.now() / 1000);
    const signature = execFileSync('python3', [
      dkimpy,
      'sign',
      path.join(dir, 'unsigned.http'),
      path.join(dir, 'key.pem'),
      'example.com',
      'jupiter',
      'Originator:Recipient:Content-Type:User-Agent:iSchedule-Version:iSchedule-Message-ID',
      'private-exchange',
      String(now),
    ])
      .toString()
      .trim();
    const verified = await verifyRequest({
      headers: [...headers, ['DKIM-Signature', signature]],
      body,
      keys: privateExchangeKeys({ 'jupiter._domainkey.example.com': keyRecord(keys.jupiter.privateKey) }),
    });
    assert.equal(verified.domain, 'example.com');
  });
});
