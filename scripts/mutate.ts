/**
 * `npm run mutate [group...]`: Stryker over each group of the security core (stryker/groups.json),
 * one after the other, then the score per file (scripts/mutation-report.ts).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const known = Object.keys(JSON.parse(readFileSync('stryker/groups.json', 'utf8')) as Record<string, unknown>);
// `--force` tests every mutant again: Stryker's incremental mode with the tap runner does not
// notice an edit inside an existing spec file (it knows each file only by its name).
const force = process.argv.includes('--force');
const asked = process.argv.slice(2).filter((arg) => arg !== '--force');
const unknown = asked.filter((name) => !known.includes(name));
if (unknown.length > 0) {
  console.error(`unknown group ${unknown.join(', ')}: choose from ${known.join(', ')}`);
  process.exit(2);
}
for (const group of asked.length > 0 ? asked : known) {
  console.log(`\n== mutating ${group} ==`);
  const run = spawnSync('npx', ['stryker', 'run', ...(force ? ['--force'] : [])], {
    stdio: 'inherit',
    // The robustness properties try 100 cases per mutant instead of thousands (spec/support/fuzz.ts).
    // Stryker runs the specs from a copy of the project in .stryker-tmp, where ../shared is not
    // beside it: the vectors are named by their absolute path, and must be there.
    env: {
      ...process.env,
      MUTATE_GROUP: group,
      ISCHEDULE_FUZZ_RUNS: '100',
      ISCHEDULE_VECTORS: process.env.ISCHEDULE_VECTORS ?? resolve('../shared/vectors/calendarserver'),
      ISCHEDULE_REQUIRE_VECTORS: '1',
      // Likewise the Redis store's specs: a missing redis-server fails them, never skips them.
      ISCHEDULE_REQUIRE_REDIS: '1',
      // And the CalDAV gateway's: they need Debian's radicale.
      ISCHEDULE_REQUIRE_RADICALE: '1',
    },
  });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
const report = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/mutation-report.ts'], {
  stdio: 'inherit',
});
process.exit(report.status ?? 1);
