// Writes (or with --check, compares) deploy/helm/berth/crds/ from the definitions here, so the CRDs
// the Helm chart installs never drift from the code that reads them. The chart's crds/ folder is
// their only copy: Helm installs it as is, and the tests apply it from there.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { bgpConfigCrd, bgpPeerCrd, ipPoolCrd } from './index.js';

const args = process.argv.slice(2);
const check = args.includes('--check');
const dir = args.find((arg) => !arg.startsWith('--'));
if (dir === undefined) {
  console.error('usage: write-crds [--check] DIR');
  process.exit(2);
}
await mkdir(dir, { recursive: true });
const stale: string[] = [];
for (const crd of [ipPoolCrd, bgpPeerCrd, bgpConfigCrd]) {
  const path = join(dir, `${crd.metadata.name}.yaml`);
  const text = `# Generated from services/watcher/src/crds by \`npm run crds\`; do not edit.\n${stringify(crd, { lineWidth: 0 })}`;
  if (!check) await writeFile(path, text);
  else if ((await readFile(path, 'utf8').catch(() => '')) !== text) stale.push(path);
}
if (stale.length > 0) {
  console.error(`CRDs out of date (run \`npm run crds\`): ${stale.join(', ')}`);
  process.exit(1);
}
