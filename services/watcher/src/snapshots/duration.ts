const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Seconds in a Go-style duration (`90s`, `1m30s`, `1.5h`), or undefined if it is not one. */
export function durationSeconds(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, value, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(value) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
  }
  return total;
}
