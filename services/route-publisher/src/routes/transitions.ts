import type { DesiredRoute } from '@berth/serving';
import type { Speaker } from './speaker-paths.js';

/** The routes as one speaker announces them: a node speaker announces only its own next hop. */
export function speakerRoutes(routes: Iterable<DesiredRoute>, speaker: Speaker): Map<string, DesiredRoute> {
  const view = new Map<string, DesiredRoute>();
  for (const route of routes) {
    if (speaker.topology === 'central') {
      view.set(route.prefix, route);
      continue;
    }
    const own = route.nextHops.filter((h) => h.node === speaker.node);
    if (own.length > 0) view.set(route.prefix, { ...route, nextHops: own });
  }
  return view;
}

export type Transition =
  | { readonly type: 'routeAnnounced' | 'routeChanged'; readonly route: DesiredRoute }
  | { readonly type: 'routeWithdrawn'; readonly route: DesiredRoute };

const sameRoute = (a: DesiredRoute, b: DesiredRoute): boolean =>
  a.serviceUid === b.serviceUid &&
  a.pool === b.pool &&
  a.localPref === b.localPref &&
  a.communities.join() === b.communities.join() &&
  a.nextHops.map((h) => h.address).join() === b.nextHops.map((h) => h.address).join();

/** What routers saw change between two views of one speaker's routes. */
export function transitions(
  before: ReadonlyMap<string, DesiredRoute>,
  after: ReadonlyMap<string, DesiredRoute>,
): Transition[] {
  const out: Transition[] = [];
  for (const [prefix, route] of after) {
    const old = before.get(prefix);
    if (old === undefined) out.push({ type: 'routeAnnounced', route });
    else if (!sameRoute(old, route)) out.push({ type: 'routeChanged', route });
  }
  for (const [prefix, route] of before) if (!after.has(prefix)) out.push({ type: 'routeWithdrawn', route });
  return out;
}
