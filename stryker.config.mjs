// Mutation testing of the security core: `npm run mutate` (scripts/mutate.ts), not part of
// `npm test`. Each spec file runs in its own node process (the tap runner, with tsx), and only the
// spec files that reach a mutant run for it. The core is taken in groups (stryker/groups.json),
// each with the specs of its folder, so that a mutant of a module-level table runs a folder's
// specs, not the whole suite.
// scripts/mutation-report.ts prints the score per file, leaving out stryker/equivalent-mutants.json.

import { readFileSync } from 'node:fs';

/** The security core, by group: the files mutated and the specs that judge them. */
const GROUPS = JSON.parse(readFileSync(new URL('./stryker/groups.json', import.meta.url), 'utf8'));

// Set by scripts/mutate.ts, with the vectors and Redis it requires: no group is a silent default.
const name = process.env.MUTATE_GROUP;
const group = name && GROUPS[name];
if (!group) {
  throw new Error(
    `MUTATE_GROUP=${name ?? ''} is not one of ${Object.keys(GROUPS).join(', ')}: run npm run mutate [group]`,
  );
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  tap: {
    testFiles: group.testFiles,
    nodeArgs: ['-r', '{{hookFile}}', '--import', 'tsx', '--test-reporter=tap', '{{testFile}}'],
    forceBail: true,
  },
  mutate: group.mutate,
  plugins: ['@stryker-mutator/tap-runner', './stryker/ignore-message-text.mjs'],
  ignorers: ['message-text'],
  coverageAnalysis: 'perTest',
  // Only mutants whose code or specs changed since the last run are tested again.
  incremental: true,
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  concurrency: 2,
  reporters: ['progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  // Stryker rewrites tsconfig.json with TypeScript's API, which TypeScript 7 no longer has; tsx
  // reads the copy unchanged, so there is nothing to rewrite.
  tsconfigFile: '',
  tempDirName: '.stryker-tmp',
};
