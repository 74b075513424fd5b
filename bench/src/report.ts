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

/**
 * Prints one row per case with a column per figure, and writes them, with the run's context, to
 * bench/results/NAME.json.
 */
export function reportTable(
  name: string,
  columns: readonly (readonly [figure: string, unit: string])[],
  rows: readonly (readonly [label: string, values: readonly (string | number)[]])[],
  context: Record<string, unknown>,
): void {
  const head = ['', ...columns.map(([figure, unit]) => (unit === '' ? figure : `${figure} (${unit})`))];
  const cells = rows.map(([label, values]) => [label, ...values.map(String)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  console.log(`\n${name}\n${line(head)}\n${'-'.repeat(line(head).length)}`);
  for (const row of cells) console.log(line(row));
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const figures = rows.map(([label, values]) => ({
    case: label,
    ...Object.fromEntries(
      columns.map(([figure, unit], i) => [unit === '' ? figure : `${figure} (${unit})`, values[i]]),
    ),
  }));
  writeFileSync(file, `${JSON.stringify({ name, at: new Date().toISOString(), context, figures }, null, 2)}\n`);
  console.log(`\nwritten to ${file}`);
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
