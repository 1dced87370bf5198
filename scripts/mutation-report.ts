/**
 * Reads Stryker's JSON report and prints the mutation score of each file of the security core,
 * leaving out the mutants listed in stryker/equivalent-mutants.json (each with the reason it cannot
 * change a result). Every other survivor is printed with its place, so that a new one stands out.
 * Exits 1 when a file scores below the floor, or when the list names a mutant that no longer exists
 * or that a spec now kills.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const FLOOR = 90;
const REPORTS = 'reports/mutation';
const EQUIVALENTS = 'stryker/equivalent-mutants.json';

interface Position {
  line: number;
  column: number;
}
interface Mutant {
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: Position; end: Position };
}
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}
/**
 * A mutant that cannot change a result, found by its file, mutator, the source line it is on
 * (its text, so that an entry survives edits elsewhere), what it replaced and what with.
 */
interface Equivalent {
  file: string;
  mutator: string;
  line: string;
  original: string;
  replacement: string;
  reason: string;
}

const UNDETECTED = new Set(['Survived', 'NoCoverage']);

/** The source text a mutant replaced (report positions are 1-based). */
function originalText(source: string, lineStarts: number[], mutant: Mutant): string {
  const offset = (at: Position) => (lineStarts[at.line - 1] ?? 0) + at.column - 1;
  return source.slice(offset(mutant.location.start), offset(mutant.location.end));
}

function lineStartsOf(source: string): number[] {
  const starts = [0];
  for (let i = source.indexOf('\n'); i !== -1; i = source.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

// One report per group (scripts/mutate.ts); a group not run yet is simply absent.
const report: Report = { files: {} };
for (const name of readdirSync(REPORTS).filter((file) => /^[a-z]+\.json$/.test(file))) {
  Object.assign(report.files, (JSON.parse(readFileSync(join(REPORTS, name), 'utf8')) as Report).files);
}
const equivalents = JSON.parse(readFileSync(EQUIVALENTS, 'utf8')) as Equivalent[];
const used = new Set<Equivalent>();
const rows: string[][] = [];
const survivors: string[] = [];
let belowFloor = false;

for (const [file, { source, mutants }] of Object.entries(report.files).sort(([a], [b]) =>
  a.localeCompare(b),
)) {
  const lineStarts = lineStartsOf(source);
  let detected = 0;
  let undetected = 0;
  let equivalent = 0;
  let ignored = 0;
  for (const mutant of mutants) {
    if (mutant.status === 'Ignored') {
      ignored++;
      continue;
    }
    if (mutant.status === 'Killed') {
      detected++;
      continue;
    }
    // compile or runtime errors are not scored
    if (!UNDETECTED.has(mutant.status) && mutant.status !== 'Timeout') continue;
    const original = oneLine(originalText(source, lineStarts, mutant));
    const line = oneLine(source.split('\n')[mutant.location.start.line - 1] ?? '');
    const replacement = oneLine(mutant.replacement ?? '');
    const listed = equivalents.find(
      (entry) =>
        entry.file === file &&
        entry.mutator === mutant.mutatorName &&
        oneLine(entry.line) === line &&
        oneLine(entry.original) === original &&
        oneLine(entry.replacement) === replacement,
    );
    if (listed) {
      // Equivalence is the code's, not the run's: a listed mutant that timed out only met a
      // slow moment (a fast path taken away, a busy machine), and is counted as equivalent.
      used.add(listed);
      equivalent++;
      continue;
    }
    if (mutant.status === 'Timeout') {
      detected++;
      continue;
    }
    undetected++;
    survivors.push(
      `${file}:${mutant.location.start.line}:${mutant.location.start.column} ${mutant.mutatorName} ` +
        `(${mutant.status}): ${original.slice(0, 100)}  ->  ${replacement.slice(0, 100)}`,
    );
  }
  const score = detected + undetected === 0 ? 100 : (100 * detected) / (detected + undetected);
  if (score < FLOOR) belowFloor = true;
  rows.push([
    file,
    score.toFixed(1),
    String(detected),
    String(undetected),
    String(equivalent),
    String(ignored),
  ]);
}

const header = ['file', 'score %', 'detected', 'undetected', 'equivalent', 'message text'];
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
);
const format = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
console.log(format(header));
for (const row of rows) console.log(format(row));

if (survivors.length > 0) {
  console.log(`\n${survivors.length} mutant(s) no spec detects and ${EQUIVALENTS} does not list:`);
  for (const line of survivors) console.log(`  ${line}`);
}
const stale = equivalents.filter((entry) => !used.has(entry) && entry.file in report.files);
if (stale.length > 0) {
  console.log(`\n${stale.length} entr(ies) of ${EQUIVALENTS} match no surviving mutant (remove them):`);
  for (const entry of stale)
    console.log(`  ${entry.file} ${entry.mutator}: ${entry.original} -> ${entry.replacement}`);
}
if (belowFloor) console.log(`\nA file of the security core is below the floor of ${FLOOR}%.`);
process.exitCode = belowFloor || stale.length > 0 ? 1 : 0;
