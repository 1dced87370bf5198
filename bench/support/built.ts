/**
 * The built package (`dist/`, what `npm start` and hosts run), for the benches. The TypeScript
 * sources run through tsx are not the same program: its keepNames gives every function made at
 * run time a defineProperty call (several per request on the receiver's path) and V8 a new map
 * for it. The bench scripts build first (`npm run build`).
 */
import { existsSync } from 'node:fs';

const dist = new URL('../../dist/', import.meta.url);

/** `dist/cli/main.js`: the `ischedule` command as installed. */
export const builtCli = new URL('cli/main.js', dist).pathname;

/** The package's main and `/dkim` entries, from `dist/`. */
export async function builtPackage(): Promise<
  typeof import('../../lib/index.js') & typeof import('../../lib/dkim/index.js')
> {
  if (!existsSync(builtCli))
    throw new Error('dist/ is missing: run npm run build first (the bench scripts do)');
  const main = (await import(new URL('index.js', dist).href)) as typeof import('../../lib/index.js');
  const dkim = (await import(
    new URL('dkim/index.js', dist).href
  )) as typeof import('../../lib/dkim/index.js');
  return { ...main, ...dkim };
}
