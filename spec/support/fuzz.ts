/**
 * How many cases a robustness property tries. `npm run mutate` runs every spec file once per
 * mutant, so it sets ISCHEDULE_FUZZ_RUNS to keep those runs short; `npm test` always tries them all.
 */
export function fuzzRuns(runs: number): number {
  const cap = Number(process.env.ISCHEDULE_FUZZ_RUNS);
  return Number.isInteger(cap) && cap > 0 ? Math.min(runs, cap) : runs;
}
