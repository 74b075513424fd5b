import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const chartReadme = readFileSync(join(root, 'deploy', 'helm', 'berth', 'README.md'), 'utf8');

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every environment variable a service, library or the CLI reads through the runtime's `env`. */
function variablesRead(): Map<string, string> {
  const found = new Map<string, string>();
  const dirs = ['services', 'libs'].flatMap((group) =>
    readdirSync(join(root, group)).map((pkg) => join(root, group, pkg, 'src')),
  );
  for (const file of [...dirs, join(root, 'cli', 'src')].flatMap(sources)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/env\.[a-zA-Z]+\(\s*'(BERTH_[A-Z0-9_]+)'/g)) {
      found.set(m[1] as string, file.slice(root.length + 1));
    }
  }
  return found;
}

/** `a.b.c` for every leaf of the chart's values (a map's keys, not a list's items). */
function valuePaths(values: unknown, prefix = ''): string[] {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) return [prefix];
  const entries = Object.entries(values as Record<string, unknown>);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([key, value]) => valuePaths(value, prefix === '' ? key : `${prefix}.${key}`));
}

describe('README', () => {
  it('documents every environment variable Berth reads', () => {
    const read = variablesRead();
    assert.ok(read.size > 30, `found only ${read.size} variables: the scan is broken`);
    const missing = [...read].filter(([name]) => !readme.includes(`\`${name}\``));
    assert.deepEqual(missing, [], 'variables read but not in the README (name, where)');
  });

  it("points at the chart's README, which documents every Helm value of the chart", () => {
    assert.ok(readme.includes('](deploy/helm/berth/README.md)'));
    const values = parse(readFileSync(join(root, 'deploy', 'helm', 'berth', 'values.yaml'), 'utf8')) as unknown;
    const paths = valuePaths(values);
    assert.ok(paths.length > 40, `found only ${paths.length} values`);
    const missing = paths.filter((path) => !chartReadme.includes(`\`${path}\``));
    assert.deepEqual(missing, [], "Helm values not in the chart's README");
  });

  it('names every annotation Berth reads on a Service', () => {
    const request = readFileSync(join(root, 'services', 'ipam', 'src', 'allocate', 'request.ts'), 'utf8');
    const annotations = [
      ...request.matchAll(
        /'((?:berth\.dev|metallb\.io|metallb\.universe\.tf|eip\.openelb\.kubesphere\.io)\/[a-zA-Z0-9-]+)'/g,
      ),
    ].map((m) => m[1] as string);
    assert.ok(annotations.length >= 11);
    assert.deepEqual(
      annotations.filter((a) => !readme.includes(`\`${a}\``)),
      [],
    );
  });

  it('points only at files that exist', () => {
    const paths = [...readme.matchAll(/\]\(((?:deploy|docs|services|libs|cli|scripts|bench|e2e)\/[^)#\s]*)\)/g)].map(
      (m) => m[1] as string,
    );
    assert.ok(paths.length > 3);
    assert.deepEqual(
      paths.filter((p) => !existsSync(join(root, p))),
      [],
    );
  });
});
