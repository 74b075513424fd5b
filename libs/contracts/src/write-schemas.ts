// Writes (or with --check, compares) the published JSON Schemas, so docs/ never drifts from code.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publishedSchemas, renderSchema } from './schemas.js';

const args = process.argv.slice(2);
const check = args.includes('--check');
const dir = args.find((arg) => !arg.startsWith('--'));
if (dir === undefined) {
  console.error('usage: write-schemas [--check] DIR');
  process.exit(2);
}
await mkdir(dir, { recursive: true });
const stale: string[] = [];
for (const [file, schema] of publishedSchemas()) {
  const path = join(dir, file);
  const text = renderSchema(schema);
  if (!check) await writeFile(path, text);
  else if ((await readFile(path, 'utf8').catch(() => '')) !== text) stale.push(path);
}
if (stale.length > 0) {
  console.error(`schemas out of date (run \`npm run schemas\`): ${stale.join(', ')}`);
  process.exit(1);
}
