/**
 * Options checked against a schema (valibot) when an object is built: every problem is named by
 * its path and what was expected, unknown keys are refused with the nearest known one, and the
 * same schemas serve the library's options and the standalone config file.
 */
import * as v from 'valibot';
import { isDomainName } from './dns/names.js';
import { OptionsError } from './errors.js';
import { isCalendarAddress } from './itip/address.js';
import { networkProblem } from './net/address-policy.js';

export type Schema = v.GenericSchema;

/** Most problems listed in one message: the first few show the pattern. */
const MAX_LISTED = 5;

/**
 * Checks `value` against `schema` and returns it unchanged (hosts' objects keep their identity
 * and prototypes); throws an OptionsError naming each problem under `where` (e.g. `options`).
 */
export function checkOptions<T>(schema: Schema, value: T, where: string): T {
  parseOptions(schema, value, where);
  return value;
}

/** checkOptions for plain data (a JSON file): returns the value as the schema types it. */
export function parseOptions<S extends Schema>(
  schema: S,
  value: unknown,
  where: string,
  make: (message: string, path: string) => Error = (message, path) => new OptionsError(message, path),
  /** What to call the value itself when it is wrong as a whole (default `where`). */
  rootName = where,
): v.InferOutput<S> {
  const result = v.safeParse(schema, value, { abortEarly: false });
  if (result.success) return result.output;
  const problems = result.issues
    .flatMap(branchIssues)
    .map((issue) => describeIssue(schema, issue, where, rootName));
  const first = problems[0]!;
  const message =
    problems.length === 1
      ? first.message
      : `${problems.length} problems:\n${problems
          .slice(0, MAX_LISTED)
          .map((p) => `  - ${p.message}`)
          .join(
            '\n',
          )}${problems.length > MAX_LISTED ? `\n  - and ${problems.length - MAX_LISTED} more` : ''}`;
  throw make(message, first.path);
}

/**
 * A union (`tls`: "self-signed", false or { cert, key }) that failed inside one of its object
 * branches is described by that branch's problems: "tls.cert is required", not "tls must be ...".
 */
function branchIssues(issue: v.BaseIssue<unknown>): v.BaseIssue<unknown>[] {
  if (issue.type !== 'union') return [issue];
  // A branch's issues have paths relative to the union.
  const inside = (issue.issues ?? []).filter((i) => i.path?.length);
  const path = issue.path ?? [];
  return inside.length
    ? inside
        .map((i) => ({ ...i, path: [...path, ...(i.path ?? [])] }) as v.BaseIssue<unknown>)
        .flatMap(branchIssues)
    : [issue];
}

function describeIssue(schema: Schema, issue: v.BaseIssue<unknown>, where: string, rootName: string) {
  const keys = (issue.path ?? []).map((item) => item.key as string | number);
  const path = (where + keys.map(pathPart).join('')).replace(/^\./, '') || rootName;
  if (issue.type === 'strict_object' && issue.expected === 'never') {
    const unknown = String(keys[keys.length - 1]);
    const known = knownKeys(schema, keys.slice(0, -1));
    const near = nearest(unknown, known);
    return {
      path,
      message: `${path} is not an option${near ? `: did you mean "${near}"?` : known.length ? ` (known: ${known.join(', ')})` : ''}`,
    };
  }
  if (issue.type.endsWith('object') && issue.input === undefined && issue.expected?.startsWith('"'))
    return { path, message: `${path} is required` };
  return { path, message: `${path} must be ${issue.message}, not ${received(issue)}` };
}

function pathPart(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function received(issue: v.BaseIssue<unknown>): string {
  const input = issue.input;
  if (typeof input === 'string')
    return input.length > 60 ? `a string of ${input.length} characters` : JSON.stringify(input);
  if (input === null || input === undefined || typeof input === 'number' || typeof input === 'boolean')
    return String(input);
  if (Array.isArray(input)) return input.length === 0 ? 'an empty array' : 'an array';
  if (typeof input === 'function') return 'a function';
  return typeof input === 'object' ? 'an object' : typeof input;
}

type Walkable = {
  readonly type: string;
  readonly entries?: Record<string, Walkable>;
  readonly wrapped?: Walkable;
  readonly options?: readonly Walkable[];
  readonly item?: Walkable;
  readonly value?: Walkable;
  readonly getter?: (input: unknown) => Walkable;
};

/** The keys an object schema at `keys` knows, looking through optional, unions and arrays. */
function knownKeys(schema: Schema, keys: readonly (string | number)[]): string[] {
  let nodes: Walkable[] = [schema as unknown as Walkable];
  for (const key of keys) {
    nodes = nodes.flatMap(unwrap).flatMap((node) => {
      if (typeof key === 'number') return node.item ? [node.item] : [];
      const entry = node.entries?.[key];
      return entry ? [entry] : node.value ? [node.value] : [];
    });
  }
  return [...new Set(nodes.flatMap(unwrap).flatMap((node) => Object.keys(node.entries ?? {})))];
}

function unwrap(node: Walkable): Walkable[] {
  if (node.wrapped) return unwrap(node.wrapped);
  if (node.options) return node.options.flatMap(unwrap);
  return [node];
}

/** The known key within two edits (or differing only in case), if one is. */
function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const key of candidates) {
    const distance = key.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, key);
    if (distance <= 2 && (!best || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length]!;
}

// Building blocks shared by the options schemas and the config file's.

export const positiveInteger = (what = 'a positive integer') =>
  v.pipe(v.number(what), v.integer(what), v.minValue(1, what));

export const port = v.pipe(
  v.number('a port number (0-65535)'),
  v.integer('a port number (0-65535)'),
  v.minValue(0, 'a port number (0-65535)'),
  v.maxValue(65535, 'a port number (0-65535)'),
);

/** Seconds or milliseconds: a finite number, at least `min`. */
export const amount = (what: string, min = 0) =>
  v.pipe(v.number(what), v.finite(what), v.minValue(min, what));

export const flag = v.boolean('true or false');

export const text = (what = 'a non-empty string') => v.pipe(v.string(what), v.nonEmpty(what));

export const domainName = v.pipe(
  v.string('a domain name'),
  v.check((name) => isDomainName(name.replace(/\.$/, '')), 'a domain name'),
);

/** A domain of at least two labels (what a calendar service can receive for or sign as). */
export const qualifiedDomain = v.pipe(
  v.string('a domain name like example.com'),
  v.check(
    (name) => isDomainName(name) && name.includes('.') && !name.endsWith('.'),
    'a domain name like example.com',
  ),
);

export const domainList = v.array(domainName, 'an array of domain names');

export const selector = v.pipe(
  v.string('a selector (letters, digits, "-", "_", ".")'),
  v.regex(
    /^[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$/,
    'a selector (letters, digits, "-", "_", ".")',
  ),
);

export const calendarAddress = v.pipe(
  v.string('a calendar address like mailto:bob@example.com'),
  v.check(isCalendarAddress, 'a calendar address like mailto:bob@example.com'),
);

export const network = v.pipe(
  v.string('a network (CIDR like 10.0.0.0/8, or one address)'),
  v.check((entry) => networkProblem(entry) === undefined, 'a network (CIDR like 10.0.0.0/8, or one address)'),
);

export const networkList = v.array(network, 'an array of networks, e.g. ["10.0.0.0/8"]');

export const redisUrl = v.pipe(
  v.string('a redis:// or rediss:// URL'),
  v.regex(/^rediss?:\/\/[^\s]+$/i, 'a redis:// or rediss:// URL'),
);

export const url = (what: string) => v.pipe(v.string(what), v.url(what), v.regex(/^https?:\/\//i, what));

export const receiverPath = v.pipe(
  v.string('a path starting with "/"'),
  v.startsWith('/', 'a path starting with "/"'),
);

export const fn = (what: string) =>
  v.custom<(...args: never[]) => unknown>((x) => typeof x === 'function', what);

/** A host's object: its methods may live on a prototype, and other properties are its own business. */
export const methods = <E extends v.ObjectEntries>(entries: E, what: string) => v.looseObject(entries, what);
