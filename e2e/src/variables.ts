import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/**
 * Every environment variable a service, library or the CLI reads through the runtime's `env`,
 * with the file that reads it: what a README, a Compose file or a Helm chart may set.
 */
export function variablesRead(): Map<string, string> {
  const found = new Map<string, string>();
  const dirs = ['services', 'libs'].flatMap((group) =>
    readdirSync(join(ROOT, group)).map((pkg) => join(ROOT, group, pkg, 'src')),
  );
  for (const file of [...dirs, join(ROOT, 'cli', 'src')].flatMap(sources)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/env\.[a-zA-Z]+\(\s*'(BERTH_[A-Z0-9_]+)'/g)) {
      found.set(m[1] as string, file.slice(ROOT.length + 1));
    }
  }
  if (found.size < 30) throw new Error(`found only ${found.size} variables: the scan is broken`);
  return found;
}
