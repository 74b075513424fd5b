// Writes (or with --check, compares) the NATS permissions of every bus identity, which the chart's
// bundled NATS and the test rig both load, so neither drifts from `BusGrants`.
import { readFile, writeFile } from 'node:fs/promises';
import { BusIdentities, busPermissions } from './permissions.js';

const args = process.argv.slice(2);
const check = args.includes('--check');
const file = args.find((arg) => !arg.startsWith('--'));
if (file === undefined) {
  console.error('usage: write-permissions [--check] FILE');
  process.exit(2);
}
const text = `${JSON.stringify(Object.fromEntries(BusIdentities.map((id) => [id, busPermissions(id)])), null, 2)}\n`;
if (!check) await writeFile(file, text);
else if ((await readFile(file, 'utf8').catch(() => '')) !== text) {
  console.error(`${file} is out of date (run \`npm run nats-permissions\`)`);
  process.exit(1);
}
