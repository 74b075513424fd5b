import type { IpFamily } from '@berth/contracts';
import type { DesiredRoute } from '@berth/serving';

/**
 * Who announces: the `central` speaker announces every next hop of every route, one ADD-PATH
 * path each; a `node` speaker announces, for the routes its node serves, one path with itself as
 * the next hop.
 */
export type Speaker =
  { readonly topology: 'central'; readonly name: string } | { readonly topology: 'per-node'; readonly node: string };

export const speakerName = (speaker: Speaker): string => (speaker.topology === 'central' ? speaker.name : speaker.node);

/** One path a speaker holds: a prefix via one next hop, with its attributes. */
export interface PathSpec {
  readonly prefix: string;
  readonly family: IpFamily;
  /** ADD-PATH identifier, distinct among one prefix's paths; 0 when there is one path. */
  readonly identifier: number;
  readonly nextHop: string;
  /** `asn:value`, sorted. */
  readonly communities: readonly string[];
  readonly localPref?: number;
}

export const pathKey = (path: Pick<PathSpec, 'prefix' | 'identifier'>): string => `${path.prefix}#${path.identifier}`;

/** The paths `speaker` must hold for `routes`, keyed by `pathKey`. */
export function speakerPaths(routes: Iterable<DesiredRoute>, speaker: Speaker): Map<string, PathSpec> {
  const paths = new Map<string, PathSpec>();
  const add = (route: DesiredRoute, nextHop: string, identifier: number) => {
    const path: PathSpec = {
      prefix: route.prefix,
      family: route.family,
      identifier,
      nextHop,
      communities: route.communities,
      ...(route.localPref === undefined ? {} : { localPref: route.localPref }),
    };
    paths.set(pathKey(path), path);
  };
  for (const route of routes) {
    if (speaker.topology === 'per-node') {
      const own = route.nextHops.find((h) => h.node === speaker.node);
      if (own !== undefined) add(route, own.address, 0);
      continue;
    }
    const ids = pathIdentifiers(route.nextHops.map((h) => h.address));
    for (const hop of route.nextHops) add(route, hop.address, ids.get(hop.address) ?? 0);
  }
  return paths;
}

/**
 * A stable, distinct, non-zero ADD-PATH identifier per next hop: the IPv4 address as a number,
 * or a hash of the IPv6 address. A path keeps its identifier while other next hops come and go,
 * so routers see one path added or withdrawn, never the others renumbered (hash collisions, which
 * are rare, probe to the next free number in address order).
 */
export function pathIdentifiers(nextHops: readonly string[]): Map<string, number> {
  const ids = new Map<string, number>();
  const used = new Set<number>();
  for (const hop of [...nextHops].sort()) {
    let id = hop.includes(':') ? fnv1a(hop) : ipv4Number(hop);
    while (id === 0 || used.has(id)) id = (id + 1) >>> 0;
    used.add(id);
    ids.set(hop, id);
  }
  return ids;
}

function ipv4Number(address: string): number {
  return address.split('.').reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0);
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
