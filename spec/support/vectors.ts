/**
 * The CalendarServer vectors live beside the project (../shared/vectors/calendarserver), never in
 * it. Where that folder is absent (a user's fresh clone), the suites that need it are skipped
 * with a note saying why, unless ISCHEDULE_REQUIRE_VECTORS is set.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const VECTORS_DIR =
  process.env.ISCHEDULE_VECTORS ??
  path.resolve(here, '..', '..', '..', 'shared', 'vectors', 'calendarserver');

export const vectorsPresent = existsSync(path.join(VECTORS_DIR, 'cases.json'));

// CI and `npm run mutate` set this: there a missing oracle is a failure, not a skip.
if (!vectorsPresent && process.env.ISCHEDULE_REQUIRE_VECTORS) {
  throw new Error(`CalendarServer vectors not found at ${VECTORS_DIR}, but ISCHEDULE_REQUIRE_VECTORS is set`);
}

/** `{ skip: reason }` for node:test when the vectors are not there. */
export const needsVectors = vectorsPresent
  ? {}
  : { skip: `CalendarServer vectors not found at ${VECTORS_DIR} (set ISCHEDULE_VECTORS)` };

export function vectorFile(relative: string): Buffer {
  return readFileSync(path.join(VECTORS_DIR, relative));
}

// biome-ignore lint/suspicious/noExplicitAny: the vectors are JSON, typed per group below
type Json = any;

export function loadCases(): Json {
  return vectorsPresent ? JSON.parse(vectorFile('cases.json').toString('utf8')) : {};
}

export type HeaderPairs = Array<[string, string]>;
