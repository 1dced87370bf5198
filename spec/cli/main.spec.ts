import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { keygenHelp } from '../../lib/cli/keygen.js';
import { main } from '../../lib/cli/main.js';
import type { Output } from '../../lib/cli/output.js';
import { VERSION } from '../../lib/version.js';

function capture() {
  const lines: string[] = [];
  const errors: string[] = [];
  const out: Output = {
    line: (text) => lines.push(text),
    json: (value) => lines.push(JSON.stringify(value)),
    error: (text) => errors.push(text),
  };
  return { lines, errors, out };
}

describe('ischedule (the command itself)', () => {
  it('prints the package version with --version, the one in package.json', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(VERSION, pkg.version);
    const { lines, out } = capture();
    assert.equal(await main(['--version'], out), 0);
    assert.deepEqual(lines, [pkg.version]);
  });

  it('prints a command\'s help with "help <command>", and refuses an unknown one', async () => {
    const ok = capture();
    assert.equal(await main(['help', 'keygen'], ok.out), 0);
    assert.deepEqual(ok.lines, [keygenHelp]);
    const bad = capture();
    assert.equal(await main(['help', 'nope'], bad.out), 2);
    assert.match(bad.errors[0] ?? '', /unknown command "nope"/);
  });
});
