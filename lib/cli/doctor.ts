/**
 * `ischedule doctor`: a domain's whole iSchedule setup checked end to end, with what to fix:
 * SRV, TXT path=, TLS certificate and host name, the capabilities document, the DKIM key
 * record, and (given the private key) a signed round trip against the published key.
 */
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { draft01KeyRecordProblem } from '../dkim/draft01.js';
import { type SignatureAlgorithm, selectPublicKey } from '../dkim/read-key-record.js';
import { defaultKeys, dnsKeys, wellKnownKeys } from '../dkim/resolvers.js';
import { signRequest } from '../dkim/sign.js';
import { verifyRequest } from '../dkim/verify.js';
import { DnsClient } from '../dns/client.js';
import { orderSrv } from '../dns/srv.js';
import { addressPolicy } from '../net/address-policy.js';
import { IScheduleClient } from '../sender/client.js';
import { txtPath } from '../sender/discovery.js';
import { domainName, selector as selectorName } from '../validation.js';
import {
  ALLOW_NETWORK_HELP,
  allowedNetworks,
  checkFlag,
  dnsServers,
  mark,
  readText,
  table,
} from './common.js';
import { CommandError, type Output } from './output.js';

export const doctorHelp = `Usage: ischedule doctor DOMAIN [--selector S] [--key FILE] [--dns HOST:PORT] [--ca FILE]

Checks DOMAIN's iSchedule setup and prints a PASS/FAIL table with what to fix:
SRV _ischedules._tcp, TXT path=, the TLS certificate and host name, the capabilities document,
the DKIM key record S._domainkey.DOMAIN, and with --key a signed round trip (the key signs, the
published record verifies). Exits 1 when a check fails.

  --selector  the DKIM selector to check
  --key       the domain's private key (PEM), for the round trip
  --dns       use this name server (HOST:PORT), repeatable
  --ca        trust this CA certificate (PEM) too
${ALLOW_NETWORK_HELP}`;

interface Row {
  readonly check: string;
  readonly ok: boolean | 'warn' | undefined;
  readonly detail: string;
}

export async function doctor(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      selector: { type: 'string' },
      key: { type: 'string' },
      dns: { type: 'string', multiple: true },
      'allow-network': { type: 'string', multiple: true },
      ca: { type: 'string' },
    },
  });
  const domain = positionals[0]?.toLowerCase();
  if (!domain) throw new CommandError('doctor needs a DOMAIN');
  checkFlag('DOMAIN', domainName, domain);
  checkFlag('--selector', selectorName, values.selector);
  const ca = values.ca ? readText(values.ca, 'CA certificate') : undefined;
  const allowNetworks = allowedNetworks(values['allow-network']);
  const policy = addressPolicy(allowNetworks);
  const dns = new DnsClient(dnsServers(values.dns));
  const rows: Row[] = [];
  const add = (check: string, ok: Row['ok'], detail: string) => rows.push({ check, ok, detail });

  // 1. SRV
  const service = `_ischedules._tcp.${domain}`;
  let target: { host: string; port: number } | undefined;
  try {
    const ordered = orderSrv(await dns.srv(service));
    const first = ordered[0];
    if (first) {
      target = { host: first.target.replace(/\.$/, ''), port: first.port };
      add('SRV', true, ordered.map((r) => `${r.priority} ${r.weight} ${r.port} ${r.target}`).join('; '));
    } else {
      add(
        'SRV',
        false,
        `no usable ${service} SRV record: publish "${service}. IN SRV 0 1 443 <your receiver host>."`,
      );
    }
  } catch (error) {
    add('SRV', false, `DNS lookup of ${service} failed: ${(error as Error).message}`);
  }

  // 2. TXT path=
  let path = '/.well-known/ischedule';
  try {
    // The sender's own rule, so that what passes here is what senders will use.
    const records = await dns.txt(service);
    const published = txtPath(records);
    const malformed = !published && records.some((t) => /^path=/i.test(t.trim()));
    if (published) path = published;
    add(
      'TXT path',
      !malformed,
      published
        ? `path=${path}`
        : malformed
          ? `"${records.find((t) => /^path=/i.test(t.trim()))}" is not a path senders accept (path=/...): they use ${path}`
          : `none: senders use ${path} (fine; publish "path=..." only if it lives elsewhere)`,
    );
  } catch (error) {
    add('TXT path', false, `DNS lookup failed: ${(error as Error).message}`);
  }

  // 3. TLS
  let tlsOk = false;
  if (target) {
    const { host, port } = target;
    try {
      const addresses = await dns.addresses(host);
      const address = addresses.find((a) => !policy.refusal(a));
      if (!addresses[0]) throw new Error(`${host} has no A/AAAA record: publish one`);
      if (!address) {
        throw new Error(
          `${host} resolves only to ${addresses.join(', ')} (${policy.refusal(addresses[0])}): senders on the Internet cannot reach it; to test a private setup, give --allow-network`,
        );
      }
      const detail = await checkTls(address, port, host, ca);
      tlsOk = true;
      add('TLS', true, detail);
    } catch (error) {
      add('TLS', false, `${host}:${port}: ${(error as Error).message}`);
    }
  } else add('TLS', undefined, 'no receiver to connect to');

  // 4. Capabilities
  if (target && tlsOk) {
    const client = new IScheduleClient({
      dns,
      ...(ca && { tls: { ca } }),
      ...(allowNetworks && { allowNetworks }),
    });
    try {
      const receiver = await client.discover(domain);
      const cached = await client.getCapabilities(receiver!);
      const c = cached.capabilities;
      const problems: string[] = [];
      if (!c.versions.includes('1.0')) problems.push('versions lacks 1.0');
      if (c.serialNumber === undefined) problems.push('no serial-number');
      if (
        cached.serial !== undefined &&
        c.serialNumber !== undefined &&
        cached.serial !== String(c.serialNumber)
      ) {
        problems.push(
          `iSchedule-Capabilities header ${cached.serial} differs from serial-number ${c.serialNumber}`,
        );
      }
      if (Object.keys(c.schedulingMessages).length === 0) problems.push('no scheduling-messages');
      add(
        'capabilities',
        problems.length === 0,
        problems.length
          ? problems.join('; ')
          : `${cached.url.href}: serial ${c.serialNumber}, ${Object.keys(c.schedulingMessages).join('/')}`,
      );
    } catch (error) {
      add('capabilities', false, `GET ?action=capabilities failed: ${(error as Error).message}`);
    } finally {
      client.close();
    }
  } else add('capabilities', undefined, 'no reachable receiver');

  // 5. DKIM key record
  const selector = values.selector;
  let keyOk = false;
  if (selector) {
    const name = `${selector}._domainkey.${domain}`;
    try {
      const records = await dnsKeys({ client: dns }).lookup({ domain, selector, method: 'dns/txt' });
      const fromWellKnown =
        records.length > 0
          ? []
          : await wellKnownKeys({ dns, ...(ca && { ca }), allowNetworks: policy, timeout: 5000 })
              .lookup({ domain, selector, method: 'http/well-known' })
              .catch(() => []);
      const found = records.length ? records : fromWellKnown;
      if (found.length === 0)
        throw new Error(`no key record: publish the TXT record from "ischedule keygen" at ${name}`);
      const algorithm = usableAlgorithm(found);
      keyOk = true;
      add(
        'DKIM key',
        true,
        `${records.length ? 'dns/txt' : 'http/well-known'} ${name}: usable for ${algorithm}`,
      );
      // DAViCal and EGroupware look keys up by dns/txt only, and judge the record by -01's rules.
      const problem = records.length ? draft01KeyRecordProblem(records[0]!) : 'not in DNS (dns/txt)';
      add(
        'draft -01 peers',
        problem ? 'warn' : true,
        problem
          ? `DAViCal and EGroupware would refuse this key: ${problem} (ischedule keygen --draft01)`
          : 'DAViCal and EGroupware accept this key record',
      );
    } catch (error) {
      add('DKIM key', false, `${name}: ${(error as Error).message}`);
    }
  } else add('DKIM key', undefined, 'give --selector to check the key record');

  // 6. Round trip
  if (values.key && selector && keyOk) {
    try {
      const key = { domain, selector, privateKey: readText(values.key, 'key') };
      const headers: Array<[string, string]> = [
        ['Originator', `mailto:doctor@${domain}`],
        ['Recipient', `mailto:doctor@${domain}`],
        ['Content-Type', 'text/calendar; component=VEVENT; method=REQUEST'],
        ['iSchedule-Version', '1.0'],
      ];
      const body = 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n';
      headers.push([
        'DKIM-Signature',
        signRequest({ headers, body, key, queryMethods: ['dns/txt', 'http/well-known'] }),
      ]);
      await verifyRequest({
        headers,
        body,
        keys: defaultKeys({ dns, ...(ca && { ca }), allowNetworks: policy }),
      });
      add('round trip', true, 'the key signs what the published record verifies');
    } catch (error) {
      add(
        'round trip',
        false,
        `${(error as Error).message}: the private key does not match the published record`,
      );
    }
  } else
    add(
      'round trip',
      undefined,
      values.key ? 'needs a usable key record' : 'give --key (and --selector) to sign and verify',
    );

  out.line(table([['RESULT', 'CHECK', 'DETAIL'], ...rows.map((r) => [mark(r.ok), r.check, r.detail])]));
  if (rows.some((r) => r.ok === false))
    throw new CommandError(`${rows.filter((r) => r.ok === false).length} check(s) failed`, 1);
}

/** The algorithm the published records verify (RSA or Ed25519); throws the RSA check's reason. */
function usableAlgorithm(records: readonly string[]): SignatureAlgorithm {
  let reason: unknown;
  for (const algorithm of ['rsa-sha256', 'ed25519-sha256'] as const) {
    try {
      selectPublicKey(records, algorithm);
      return algorithm;
    } catch (error) {
      reason ??= error;
    }
  }
  throw reason;
}

/** Connects and verifies the certificate against the host name; resolves to a description. */
function checkTls(address: string, port: number, host: string, ca: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: address,
      port,
      servername: host,
      ...(ca && { ca: [...tls.rootCertificates, ca] }),
      timeout: 5000,
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(
        `certificate for ${cert.subject?.CN ?? host}, valid until ${cert.valid_to}, verified for ${host}`,
      );
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error('no TLS handshake within 5 s'));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.destroy();
      reject(new Error(`${error.code ?? ''} ${error.message}`.trim()));
    });
  });
}
