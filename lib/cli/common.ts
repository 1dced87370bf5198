/** Options and output shared by the commands. */
import { readFileSync } from 'node:fs';
import { nameServer } from '../dns/schema.js';
import { network, parseOptions, type Schema } from '../validation.js';
import { CommandError } from './output.js';

export function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CommandError(
      `cannot read the ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/**
 * A flag's value checked with the library's own schemas: `--domain must be a domain name like
 * example.com, not "bad domain"`. Undefined passes (whether a flag is required is said apart).
 */
export function checkFlag<T>(flag: string, schema: Schema, value: T): T {
  if (value === undefined) return value;
  parseOptions(schema, value, '', (message) => new CommandError(message), flag);
  return value;
}

/** A whole number flag within [min, max]; `1e3`, `0x10`, `` and `12abc` are refused. */
export function integerFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d{1,16}$/.test(value) || number < min || number > max)
    throw new CommandError(`${flag} must be an integer from ${min} to ${max}, not "${value}"`);
  return number;
}

/** A flag given several times: each value named by the flag alone. */
function checkEach(
  flag: string,
  schema: Schema,
  values: readonly string[] | undefined,
): string[] | undefined {
  if (!values?.length) return undefined;
  for (const value of values) checkFlag(flag, schema, value);
  return [...values];
}

/** `--dns HOST:PORT` (repeatable) as DnsClient servers; undefined means the system's. */
export function dnsServers(values: readonly string[] | undefined): { servers: string[] } | undefined {
  const servers = checkEach('--dns', nameServer, values);
  return servers && { servers };
}

/** `--allow-network CIDR` (repeatable): networks reachable besides the public Internet. */
export function allowedNetworks(values: readonly string[] | undefined): string[] | undefined {
  return checkEach('--allow-network', network, values);
}

export const ALLOW_NETWORK_HELP = `  --allow-network  a network (CIDR, e.g. 10.0.0.0/8, or one address) that receivers and key
               servers found through DNS may be in; repeatable. By default only public
               addresses are reached: DNS answers are untrusted.`;

export function requireValue(value: string | undefined, option: string): string {
  if (!value) throw new CommandError(`${option} is required`);
  return value;
}

/** Aligned columns, for check lists and results. */
export function table(rows: ReadonlyArray<readonly string[]>): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}

/** A check's mark: PASS, FAIL, WARN (works, with a caveat worth knowing), or skip (not checked). */
export const mark = (ok: boolean | 'warn' | undefined) =>
  ok === undefined ? 'skip' : ok === 'warn' ? 'WARN' : ok ? 'PASS' : 'FAIL';
