import type { IpFamily } from '@berth/contracts';
import type { Blocker } from '@berth/serving';
import type { NodeBlocker } from './serving.js';

/** `a`, `a and b`, `a, b and c`; past `max` names, `a, b, c and 7 others`. */
export function listNames(names: readonly string[], max = 4): string {
  if (names.length > max) return `${names.slice(0, max - 1).join(', ')} and ${names.length - max + 1} others`;
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''}`;
}

/** `800ms`, `1.5s`, `3m12s`, `2h5m`, `4d3h`: short, for tables and sentences alike. */
export function formatDuration(ms: number): string {
  const whole = Math.max(0, Math.floor(ms));
  if (whole < 1000) return `${whole}ms`;
  const seconds = whole / 1000;
  if (seconds < 60) return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)}s`;
  const s = Math.floor(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

/** Free text from elsewhere (ipam's messages, Events) made fit to sit inside one sentence. */
export function inline(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[.\s]+$/, '');
}

/** What the blocked nodes have in common, for the sentence and the table. */
export interface BlockerContext {
  readonly family: IpFamily;
  readonly healthTimeoutMs: number;
  /** The pool's `layer2.interfaces`. */
  readonly interfaces: readonly string[];
  /** The other Services on the VIP, whose endpoints count too. */
  readonly sharedWith: readonly string[];
}

const ORDER: readonly Blocker[] = [
  'notReady',
  'excluded',
  'noHeartbeat',
  'staleHeartbeat',
  'agentUnready',
  'nodeSelector',
  'noInterface',
  'noEndpoint',
  'noAddress',
];

function phrase(blocker: Blocker, nodes: readonly string[], context: BlockerContext): string {
  const one = nodes.length === 1;
  const who = listNames(nodes);
  switch (blocker) {
    case 'notReady':
      return `${who} ${one ? 'is' : 'are'} not Ready`;
    case 'excluded':
      return `${who} ${one ? 'is' : 'are'} labelled node.kubernetes.io/exclude-from-external-load-balancers`;
    case 'noHeartbeat':
      return `no node-agent has reported from ${who}`;
    case 'staleHeartbeat':
      return `the node-agent${one ? '' : 's'} on ${who} ${one ? 'has' : 'have'} been silent for over ${formatDuration(context.healthTimeoutMs)}`;
    case 'agentUnready':
      return `the node-agent${one ? '' : 's'} on ${who} ${one ? 'reports its node' : 'report their nodes'} not ready`;
    case 'nodeSelector':
      return `${who} ${one ? 'does' : 'do'} not match the pool's layer2.nodeSelector`;
    case 'noInterface':
      return `${who} ${one ? 'has' : 'have'} none of the pool's interfaces (${context.interfaces.join(', ')})`;
    case 'noEndpoint':
      return context.sharedWith.length === 0
        ? `${who} ${one ? 'runs' : 'run'} no ready endpoint of it (externalTrafficPolicy: Local)`
        : `${who} ${one ? 'runs' : 'run'} no ready endpoint of it or of ${listNames(context.sharedWith)}, which ${context.sharedWith.length === 1 ? 'shares' : 'share'} its address (externalTrafficPolicy: Local)`;
    case 'noAddress':
      return `${who} ${one ? 'has' : 'have'} no ${context.family} address`;
  }
}

/** Why no node serves, grouped by reason: `n1 is not Ready; no node-agent has reported from n2 and n3`. */
export function blockersPhrase(blockers: readonly NodeBlocker[], context: BlockerContext): string {
  if (blockers.length === 0) return 'no node is on the bus (is the watcher running?)';
  return ORDER.flatMap((blocker) => {
    const nodes = blockers.filter((b) => b.blocker === blocker).map((b) => b.node);
    return nodes.length === 0 ? [] : [phrase(blocker, nodes, context)];
  }).join('; ');
}
