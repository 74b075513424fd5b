import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Row = readonly [figure: string, value: string | number, unit: string];

/** Prints a table of figures and writes them, with the run's context, to bench/results/NAME.json. */
export function report(name: string, rows: readonly Row[], context: Record<string, unknown>): void {
  const width = Math.max(...rows.map(([figure]) => figure.length));
  console.log(`\n${name}\n${'-'.repeat(width + 24)}`);
  for (const [figure, value, unit] of rows)
    console.log(`${figure.padEnd(width)}  ${String(value).padStart(12)} ${unit}`);
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ name, at: new Date().toISOString(), context, figures: rows.map(([figure, value, unit]) => ({ figure, value, unit })) }, null, 2)}\n`,
  );
  console.log(`\nwritten to ${file}`);
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
