/** `ischedule verify`: every DKIM check of a captured request, with its outcome. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { explainVerification } from '../dkim/explain.js';
import { defaultKeys, type KeyResolver } from '../dkim/resolvers.js';
import { QUERY_METHODS } from '../dkim/signature.js';
import { parseWireRequest } from '../http/wire.js';
import { dnsServers, integerFlag, mark, table } from './common.js';
import { CommandError, type Output } from './output.js';

export const verifyHelp = `Usage: ischedule verify REQUEST.http [--key-record RECORD] [--dns HOST:PORT] [--now UNIXTIME]
                        [--clock-skew SECONDS] [--allow-sha1] [--show-data] [--json]

Verifies the DKIM signature of a captured HTTP request (request line, headers, blank line, body)
and prints every check: one signature, its tags, its times, the body hash, the key, the
signature itself. The first tool to reach for when a peer says verification-failed.

  --key-record  use this key record (e.g. "v=DKIM1; p=MIIB...") instead of looking it up
  --dns         look keys up with this name server (HOST:PORT), repeatable
  --now         check times as of this Unix time (for old captures)
  --show-data   print the canonical header data the signature covers`;

export async function verify(argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'key-record': { type: 'string' },
      dns: { type: 'string', multiple: true },
      now: { type: 'string' },
      'clock-skew': { type: 'string' },
      'allow-sha1': { type: 'boolean', default: false },
      'show-data': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const file = positionals[0];
  if (!file) throw new CommandError('verify needs the REQUEST.http file');
  let request: ReturnType<typeof parseWireRequest>;
  // Unix time in seconds, up to the year 9999.
  const now = integerFlag('--now', values.now, 0, 253_402_300_799);
  const clockSkew = integerFlag('--clock-skew', values['clock-skew'], 0, 86_400);
  try {
    request = parseWireRequest(readFileSync(file));
  } catch (error) {
    throw new CommandError(`${file}: ${(error as Error).message}`);
  }
  const record = values['key-record'];
  let keys: KeyResolver;
  if (record) {
    keys = { methods: QUERY_METHODS, lookup: async () => [record] };
  } else {
    const dns = dnsServers(values.dns);
    keys = defaultKeys({ ...(dns && { dns }), timeout: 5000 });
  }
  const explanation = await explainVerification({
    headers: request.headers,
    body: request.body,
    keys,
    ...(now !== undefined && { now }),
    ...(clockSkew !== undefined && { clockSkew }),
    allowSha1: values['allow-sha1'],
  });
  if (values.json) {
    out.json(explanation);
  } else {
    out.line(table(explanation.checks.map((c) => [mark(c.ok), c.name, c.detail])));
    if (values['show-data'] && explanation.signedData) {
      out.line('\nSigned data (canonical, CRLF shown as \\r\\n):');
      out.line(explanation.signedData.replace(/\r\n/g, '\\r\\n\n'));
    }
    out.line(explanation.verified ? '\nverified' : '\nNOT verified');
  }
  if (!explanation.verified) throw new CommandError('the signature does not verify', 1);
}
