/** `ischedule keygen`: a signing key pair and the records that publish it. */
import { chmodSync, closeSync, existsSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dnsTxtRecord, generateSigningKey, wellKnownBody } from '../dkim/publish-key.js';
import { qualifiedDomain, selector } from '../validation.js';
import { checkFlag, integerFlag } from './common.js';
import { CommandError, type Output } from './output.js';

export const keygenHelp = `Usage: ischedule keygen --domain DOMAIN --selector SELECTOR [--type rsa|ed25519] [--bits N] [--draft01] [--out PREFIX]

Makes a DKIM signing key pair for iSchedule and prints the records that publish its public half:
the DNS TXT record (split into 255-octet strings for zone files), the body to serve at
/.well-known/domainkey/DOMAIN/SELECTOR, and the private-exchange line.

  --domain     the signing domain (d=)
  --selector   the selector (s=), e.g. cal2026
  --type       rsa (default; every iSchedule peer supports it) or ed25519
  --bits       RSA modulus size (default 2048)
  --draft01    a record draft -01 peers (DAViCal, EGroupware) accept too: s=calendar:ischedule
  --out        write PREFIX.private.pem (mode 0600) and PREFIX.public.pem instead of printing
               the private key; existing files are kept unless --force
  --force      replace existing key files
  --json       print the result as JSON`;

export function keygen(argv: string[], out: Output): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      domain: { type: 'string' },
      selector: { type: 'string' },
      type: { type: 'string', default: 'rsa' },
      bits: { type: 'string', default: '2048' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
      draft01: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.domain || !values.selector) throw new CommandError('keygen needs --domain and --selector');
  checkFlag('--domain', qualifiedDomain, values.domain);
  checkFlag('--selector', selector, values.selector);
  if (values.type !== 'rsa' && values.type !== 'ed25519')
    throw new CommandError('--type must be rsa or ed25519');
  const bits = integerFlag('--bits', values.bits, 1024, 16384)!;

  const files = values.out
    ? { private: `${values.out}.private.pem`, public: `${values.out}.public.pem` }
    : undefined;
  const existing = files && [files.private, files.public].find((file) => existsSync(file));
  if (existing && !values.force)
    throw new CommandError(`${existing} exists; keygen does not replace keys without --force`);
  if (values.draft01 && values.type !== 'rsa')
    throw new CommandError('--draft01 needs an RSA key: draft -01 peers verify only RSA');
  const pair = generateSigningKey({ type: values.type, bits, draft01: values.draft01 });
  const txt = dnsTxtRecord(values.domain, values.selector, pair.record);
  if (files) {
    writeKeyFile(files.private, pair.privateKey, 0o600, values.force);
    writeKeyFile(files.public, pair.publicKey, 0o644, values.force);
  }
  if (values.json) {
    out.json({
      domain: values.domain,
      selector: values.selector,
      record: pair.record,
      dns: txt,
      wellKnown: {
        path: `/.well-known/domainkey/${values.domain}/${values.selector}`,
        body: wellKnownBody([pair.record]),
      },
      privateExchange: { [`${values.selector}._domainkey.${values.domain}`]: pair.record },
      ...(files ? { files } : { privateKey: pair.privateKey }),
    });
    return;
  }
  out.line(
    files
      ? `Private key: ${files.private} (keep it secret)\nPublic key:  ${files.public}`
      : pair.privateKey.trimEnd(),
  );
  out.line('');
  out.line('DNS (zone file):');
  out.line(`  ${txt.zoneLine}`);
  out.line('');
  out.line(`Well-known body (text/plain at /.well-known/domainkey/${values.domain}/${values.selector}):`);
  out.line(`  ${pair.record}`);
  out.line('');
  out.line('Private exchange:');
  out.line(`  "${values.selector}._domainkey.${values.domain}": "${pair.record}"`);
}

/**
 * Writes a key file with exactly `mode`: a new file is created with it; with `force`, a fresh
 * file replaces the old one by rename, so an old file's looser mode is never kept.
 */
function writeKeyFile(file: string, text: string, mode: number, force: boolean): void {
  const target = force ? path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`) : file;
  let fd: number;
  try {
    fd = openSync(target, 'wx', mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && !force)
      throw new CommandError(`${file} exists; keygen does not replace keys without --force`);
    throw new CommandError(
      `cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  chmodSync(target, mode); // The umask may have narrowed it; the mode is exactly as asked.
  if (target !== file) renameSync(target, file);
}
