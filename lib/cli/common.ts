/** Options and output shared by the commands. */
import { readFileSync } from 'node:fs';
import { AddressPolicy } from '../net/address-policy.js';
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

/** `--dns HOST:PORT` (repeatable) as DnsClient servers; undefined means the system's. */
export function dnsServers(values: readonly string[] | undefined): { servers: string[] } | undefined {
  return values?.length ? { servers: [...values] } : undefined;
}

/** `--allow-network CIDR` (repeatable): networks reachable besides the public Internet. */
export function allowedNetworks(values: readonly string[] | undefined): string[] | undefined {
  if (!values?.length) return undefined;
  try {
    new AddressPolicy(values, '--allow-network');
  } catch (error) {
    throw new CommandError((error as Error).message);
  }
  return [...values];
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

export const mark = (ok: boolean | undefined) => (ok === undefined ? 'skip' : ok ? 'PASS' : 'FAIL');
