import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseTagList, selectPublicKey } from '../support/api.js';
import { publishedKey, recordKey } from '../support/fixtures.js';

const run = promisify(execFile);
const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'lib/cli/main.ts', ...args], { encoding: 'utf8' }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('ischedule keygen', () => {
  it('writes a key pair and prints the records that publish it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keygen-'));
    const result = await cli(
      'keygen',
      '--domain',
      'example.com',
      '--selector',
      'cal2026',
      '--out',
      path.join(dir, 'cal2026'),
      '--json',
    );
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.equal(out.dns.name, 'cal2026._domainkey.example.com.');
    for (const s of out.dns.strings) assert.ok(s.length <= 255);
    assert.equal(parseTagList(out.record).get('s'), 'ischedule');
    assert.equal(
      publishedKey(selectPublicKey([out.dns.strings.join('')], 'rsa-sha256').key),
      recordKey(out.record),
    );
    assert.match(readFileSync(out.files.private, 'utf8'), /BEGIN PRIVATE KEY/);
    assert.equal(statSync(out.files.private).mode & 0o777, 0o600);
  });

  it('--draft01 makes a record draft -01 peers accept too, and only for RSA', async () => {
    const result = await cli(
      'keygen',
      '--domain',
      'example.com',
      '--selector',
      'cal01',
      '--draft01',
      '--json',
    );
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.equal(parseTagList(out.record).get('s'), 'calendar:ischedule');
    assert.equal(selectPublicKey([out.record], 'rsa-sha256').key.asymmetricKeyType, 'rsa');
    const ed = await cli(
      'keygen',
      '--domain',
      'example.com',
      '--selector',
      'x',
      '--type',
      'ed25519',
      '--draft01',
    );
    assert.notEqual(ed.code, 0);
    assert.match(ed.stderr, /--draft01 needs an RSA key/);
  });

  it('never replaces a key without --force, and always writes the private key 0600', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keygen-'));
    const prefix = path.join(dir, 'cal');
    const args = ['keygen', '--domain', 'example.com', '--selector', 'cal', '--out', prefix];
    assert.equal((await cli(...args)).code, 0);
    const original = readFileSync(`${prefix}.private.pem`, 'utf8');
    const again = await cli(...args);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /cal\.private\.pem exists; keygen does not replace keys without --force/);
    assert.equal(readFileSync(`${prefix}.private.pem`, 'utf8'), original, 'the old key is intact');
    chmodSync(`${prefix}.private.pem`, 0o644);
    const forced = await cli(...args, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(`${prefix}.private.pem`, 'utf8'), original);
    assert.equal(statSync(`${prefix}.private.pem`).mode & 0o777, 0o600, 'not the old file mode');
  });

  it('explains what is missing and exits non-zero', async () => {
    const result = await cli('keygen', '--domain', 'example.com');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /keygen needs --domain and --selector/);
    const unknown = await cli('frobnicate');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const help = await cli('keygen', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: ischedule keygen/);
  });
});
