import type { PathSpec } from './speaker-paths.js';

export interface PathDiff {
  /** New paths, and paths whose next hop or attributes changed (an add replaces them). */
  readonly add: PathSpec[];
  /** Paths held that must go, each named exactly: never a delete without a path. */
  readonly remove: PathSpec[];
}

export const samePath = (a: PathSpec, b: PathSpec): boolean =>
  a.prefix === b.prefix &&
  a.family === b.family &&
  a.identifier === b.identifier &&
  a.nextHop === b.nextHop &&
  a.localPref === b.localPref &&
  a.communities.length === b.communities.length &&
  a.communities.every((c, i) => c === b.communities[i]);

/** The fewest calls that turn `held` into `desired` (both keyed by `pathKey`). */
export function diffPaths(desired: ReadonlyMap<string, PathSpec>, held: ReadonlyMap<string, PathSpec>): PathDiff {
  const add: PathSpec[] = [];
  const remove: PathSpec[] = [];
  for (const [key, path] of desired) {
    const current = held.get(key);
    if (current === undefined || !samePath(current, path)) add.push(path);
  }
  for (const [key, path] of held) if (!desired.has(key)) remove.push(path);
  return { add, remove };
}
