import { whyNotBerths } from '@berth/kube/rules';
import { blockersPhrase, inline, listNames } from './phrases.js';
import { serving } from './serving.js';
import { verdictFine, verdictOf, type Announcement, type ServiceVerdict, type VipVerdict } from './verdict.js';
import type { BusWorld, ClusterService, ClusterView, ViewSettings } from './world.js';

/** The answer to `berth explain`: one sentence, and whether the Service is fine. */
export interface Explanation {
  readonly service: string;
  /** It has its address and every VIP of it reaches clients. */
  readonly fine: boolean;
  readonly sentence: string;
  /** The verdict the sentence was made from, when the Service is on the bus (for `--json`). */
  readonly verdict?: ServiceVerdict;
}

const sentence = (text: string): string => `${text.replace(/[.\s]+$/, '')}.`;

function peersPhrase(announcement: Extract<Announcement, { type: 'peers' }>): string {
  return announcement.peers
    .map((p) => `${p.peer} (${p.state === 'none' ? 'no session reported' : p.state})`)
    .join(', ');
}

/** What follows a BGP VIP in the sentence: `, announced …` or ` but no route: …`. */
function bgpClause(vip: Extract<VipVerdict, { mode: 'bgp' }>, settings: ViewSettings): string {
  const { announcement } = vip;
  if (announcement.type === 'noConfig') {
    return ` but no route: there is no BGPConfig "default", so route-publisher announces nothing`;
  }
  if (vip.nextHops.length === 0) {
    const why = blockersPhrase(vip.blockers, {
      family: vip.family,
      healthTimeoutMs: settings.healthTimeoutMs,
      interfaces: [],
      sharedWith: vip.sharedWith,
    });
    return ` but no route: no node serves it, because ${why}`;
  }
  const hops = vip.nextHops.map((h) => h.address).join(', ');
  if (announcement.type === 'noPeers') {
    return ` with next hops ${hops}, but no BGPPeer carries ${vip.family}, so no router learns it`;
  }
  if (!announcement.peers.some((p) => p.state === 'Established')) {
    return ` with next hops ${hops}, but no BGP session is established: ${peersPhrase(announcement)}`;
  }
  return `, announced over BGP with next hops ${hops} to peers ${peersPhrase(announcement)}`;
}

/** What follows a layer-2 VIP in the sentence: `, answered by …` or ` but no node answers …`. */
function layer2Clause(vip: Extract<VipVerdict, { mode: 'layer2' }>, settings: ViewSettings, pool: string[]): string {
  const protocol = vip.family === 'IPv4' ? 'ARP' : 'NDP';
  if (vip.owner === undefined) {
    const why = blockersPhrase(vip.blockers, {
      family: vip.family,
      healthTimeoutMs: settings.healthTimeoutMs,
      interfaces: pool,
      sharedWith: vip.sharedWith,
    });
    return ` but no node answers ${protocol} for it: no node is eligible, because ${why}`;
  }
  const on = vip.interfaces.length === 0 ? '' : ` on ${listNames(vip.interfaces)}`;
  return `, answered by ${vip.owner} over ${protocol}${on}`;
}

function assignedSentence(
  verdict: Extract<ServiceVerdict, { type: 'assigned' }>,
  world: BusWorld,
  settings: ViewSettings,
  cluster: ClusterService | undefined,
): string {
  const interfaces = world.pools.get(verdict.pool)?.layer2?.interfaces ?? [];
  // VIPs with the same story (both families unrouted for the same reason) are told once.
  const stories = new Map<string, string[]>();
  for (const vip of verdict.vips) {
    const clause = vip.mode === 'bgp' ? bgpClause(vip, settings) : layer2Clause(vip, settings, interfaces);
    // Only the cluster can tell whether the watcher has written the address into the Service yet.
    const unwritten = cluster !== undefined && !cluster.ingress.includes(vip.vip);
    const story = unwritten ? `${clause} (not yet in the Service's status)` : clause;
    stories.set(story, [...(stories.get(story) ?? []), vip.vip]);
  }
  const clauses = [...stories].map(([story, vips]) => `${listNames(vips)}${story}`);
  const kept = verdict.outsidePool ? ` (kept, though no longer inside pool ${verdict.pool})` : '';
  return `${verdict.service.key} has ${clauses.join('; and ')}${kept}`;
}

function waitingSentence(key: string, cluster: ClusterService | undefined): string {
  const condition = cluster?.addressAssigned;
  const said =
    condition !== undefined && condition.status === 'False'
      ? `; its condition last said ${condition.reason}: ${inline(condition.message)}`
      : '';
  return `${key} is waiting for ipam: no allocation for it is on the bus yet (is ipam running?)${said}`;
}

/** Why a Service that is not on the bus is not, as far as the cluster can tell. */
function absentSentence(key: string, cluster: ClusterView, settings: ViewSettings): string {
  if (!cluster.reachable) {
    return `${key} is not on the bus: it does not exist, or it is not a LoadBalancer of class ${settings.loadBalancerClass} (berth cannot tell which without the cluster)`;
  }
  const svc = cluster.service;
  if (svc === undefined || svc === null) return `${key} does not exist in the cluster`;
  switch (whyNotBerths(svc, { className: settings.loadBalancerClass, isDefault: settings.defaultClass })) {
    case 'notLoadBalancer':
      return `${key} is not Berth's: it is of type ${svc.type}, not LoadBalancer`;
    case 'otherClass':
      return `${key} is not Berth's: its loadBalancerClass is ${svc.loadBalancerClass ?? ''}, not ${settings.loadBalancerClass}`;
    case 'noClass':
      return `${key} is not Berth's: it has no loadBalancerClass and Berth is not the default load balancer (create it with spec.loadBalancerClass: ${settings.loadBalancerClass})`;
    case undefined:
  }
  if (svc.deleting) return `${key} is being deleted`;
  return `${key} is Berth's, but the watcher has not published it on the bus (is the watcher running?)`;
}

function verdictSentence(
  verdict: ServiceVerdict,
  world: BusWorld,
  settings: ViewSettings,
  cluster: ClusterService | undefined,
): string {
  const key = verdict.service.key;
  switch (verdict.type) {
    case 'deleting':
      return `${key} is being deleted: Berth is releasing its address`;
    case 'waiting':
      return waitingSentence(key, cluster);
    case 'refused':
      return `${key} has no address: ipam refused it with ${verdict.reason}: ${inline(verdict.message)}`;
    case 'assigned':
      return assignedSentence(verdict, world, settings, cluster);
  }
}

/**
 * Why the Service `key` (`namespace/name`) has or lacks its address and its route, in one
 * sentence, from the bus and, when berth could reach it, the cluster.
 */
export function explain(key: string, world: BusWorld, cluster: ClusterView, settings: ViewSettings): Explanation {
  const service = world.services.get(key);
  if (service === undefined) {
    return { service: key, fine: false, sentence: sentence(absentSentence(key, cluster, settings)) };
  }
  const verdict = verdictOf(world, serving(world, settings), service);
  const facts = cluster.reachable ? (cluster.service ?? undefined) : undefined;
  return {
    service: key,
    fine: verdictFine(verdict),
    sentence: sentence(verdictSentence(verdict, world, settings, facts)),
    verdict,
  };
}
