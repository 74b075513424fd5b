import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ROOT, variablesRead } from './variables.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const chartReadme = readFileSync(join(ROOT, 'deploy', 'helm', 'berth', 'README.md'), 'utf8');

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
    const missing = [...read].filter(([name]) => !readme.includes(`\`${name}\``));
    assert.deepEqual(missing, [], 'variables read but not in the README (name, where)');
  });

  it("points at the chart's README, which documents every Helm value of the chart", () => {
    assert.ok(readme.includes('](deploy/helm/berth/README.md)'));
    const values = parse(readFileSync(join(ROOT, 'deploy', 'helm', 'berth', 'values.yaml'), 'utf8')) as unknown;
    const paths = valuePaths(values);
    assert.ok(paths.length > 40, `found only ${paths.length} values`);
    const missing = paths.filter((path) => !chartReadme.includes(`\`${path}\``));
    assert.deepEqual(missing, [], "Helm values not in the chart's README");
  });

  it('names every annotation Berth reads on a Service', () => {
    const request = readFileSync(join(ROOT, 'services', 'ipam', 'src', 'allocate', 'request.ts'), 'utf8');
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
      paths.filter((p) => !existsSync(join(ROOT, p))),
      [],
    );
  });
});
