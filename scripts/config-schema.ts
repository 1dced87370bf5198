/**
 * Writes config.schema.json, the JSON Schema of `ischedule serve --config` files, from the schema
 * the server checks them with (lib/server/config-schema.ts). `npm run build:schema`; a spec fails
 * when the committed file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { toJsonSchema } from '@valibot/to-json-schema';
import { configFile } from '../lib/standalone/config-schema.js';

export function configJsonSchema(): string {
  // Checks written as functions (a domain name, a network) have no JSON Schema form: editors
  // check types, names and ranges; the server checks the rest.
  const schema = toJsonSchema(configFile, { errorMode: 'ignore' });
  return `${JSON.stringify(
    { $schema: 'http://json-schema.org/draft-07/schema#', title: 'ischedule serve configuration', ...schema },
    null,
    2,
  )}\n`;
}

if (process.argv[1]?.endsWith('config-schema.ts')) {
  writeFileSync(new URL('../config.schema.json', import.meta.url), configJsonSchema());
  console.log('wrote config.schema.json');
}
