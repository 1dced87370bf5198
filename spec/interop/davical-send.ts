/** The interop harness's second draft -01 signer, `davical_send.py`, run for a spec. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fixture, keys } from '../support/fixtures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const INTEROP =
  process.env.ISCHEDULE_INTEROP ?? path.resolve(here, '..', '..', '..', 'shared', 'interop');

const execFileAsync = promisify(execFile);

/**
 * POSTs the draft's A.1 invitation to `url` from mailto:bernard@example.com, signed the way
 * DAViCal verifies (c=simple-http) by d=example.com s=jupiter; resolves to the transcript the
 * script prints (`>>>` what it sent, `<<<` the answer).
 */
export async function davicalSend(url: string, recipient: string): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'davical-'));
  const ics = path.join(dir, 'invite.ics');
  const key = path.join(dir, 'key.pem');
  writeFileSync(ics, fixture('draft/a1-request.ics'));
  writeFileSync(key, keys.jupiter.privateKey);
  // davical_send.py uses os without importing it: run it with os already in its globals.
  const runner =
    'import os, runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], init_globals={"os": os}, run_name="__main__")';
  // Not execFileSync: the receiver answering the script lives in this process.
  const { stdout } = await execFileAsync('python3', [
    '-c',
    runner,
    path.join(INTEROP, 'davical_send.py'),
    url,
    'mailto:bernard@example.com',
    recipient,
    ics,
    '--key',
    key,
    '--d',
    'example.com',
    '--s',
    'jupiter',
  ]);
  return stdout;
}
