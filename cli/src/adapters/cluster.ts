import { KubeConfig } from '@kubernetes/client-node';
import { HttpKubeApi, KubeApiError } from '@berth/kube';
import type { ClusterCondition, ClusterEvent, ClusterService, ClusterView } from '../view/world.js';
import type { KubeSource } from './kube-source.js';

/** Berth's condition on a Service (written by the watcher). */
const ADDRESS_CONDITION = 'berth.dev/AddressAssigned';
/** Enough Events to see what changed lately, few enough to read. */
const RECENT_EVENTS = 5;

type Json = Record<string, unknown>;
const record = (value: unknown): Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
const list = (value: unknown): unknown[] => (Array.isArray(value) ? (value as unknown[]) : []);
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function condition(value: unknown): ClusterCondition {
  const c = record(value);
  return {
    type: text(c['type']) ?? '',
    status: text(c['status']) ?? 'Unknown',
    reason: text(c['reason']) ?? '',
    message: text(c['message']) ?? '',
  };
}

/** GETs one path as JSON; null when the API server says 404. */
async function get(api: HttpKubeApi, path: string): Promise<unknown> {
  return api.get<unknown>(path).catch((error: unknown) => {
    if (error instanceof KubeApiError && error.status === 404) return null;
    throw error;
  });
}

function serviceFacts(object: unknown, events: unknown): ClusterService {
  const svc = record(object);
  const metadata = record(svc['metadata']);
  const spec = record(svc['spec']);
  const status = record(svc['status']);
  const ingress = list(record(status['loadBalancer'])['ingress']).flatMap((i) => {
    const ip = text(record(i)['ip']);
    return ip === undefined ? [] : [ip];
  });
  const assigned = list(status['conditions'])
    .map(condition)
    .find((c) => c.type === ADDRESS_CONDITION);
  const recent = list(record(events)['items'])
    .map((value): ClusterEvent => {
      const e = record(value);
      return {
        type: text(e['type']) ?? '',
        reason: text(e['reason']) ?? '',
        message: text(e['message']) ?? '',
        at:
          text(e['lastTimestamp']) ??
          text(e['eventTime']) ??
          text(e['firstTimestamp']) ??
          text(record(e['metadata'])['creationTimestamp']),
      };
    })
    .sort((a, b) => (b.at ?? '').localeCompare(a.at ?? ''))
    .slice(0, RECENT_EVENTS);
  return {
    type: text(spec['type']) ?? 'ClusterIP',
    loadBalancerClass: text(spec['loadBalancerClass']),
    deleting: text(metadata['deletionTimestamp']) !== undefined,
    ingress,
    addressAssigned: assigned,
    events: recent,
  };
}

/** `fetch failed` alone says nothing: add what lies beneath (ECONNREFUSED, a TLS problem, a timeout). */
function describeError(error: unknown): string {
  if (error instanceof KubeApiError) return `${error.status} ${error.reason}: ${error.message}`;
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause === undefined || error.message.includes(cause) ? error.message : `${error.message}: ${cause}`;
}

function loadKubeConfig(source: Exclude<KubeSource, { type: 'none' }>): KubeConfig {
  const kc = new KubeConfig();
  if (source.type === 'file') kc.loadFromFile(source.path);
  else if (source.type === 'KUBECONFIG') kc.loadFromDefault();
  else kc.loadFromCluster();
  return kc;
}

const describeSource = (source: Exclude<KubeSource, { type: 'none' }>): string =>
  source.type === 'file'
    ? `${source.path} (${source.from})`
    : source.type === 'KUBECONFIG'
      ? 'KUBECONFIG'
      : 'the in-cluster ServiceAccount';

/**
 * What only the cluster knows: IPPool status, and for `service` (`namespace/name`) whether it
 * exists, its type and class, Berth's condition and its recent Events. Never throws: a cluster
 * berth cannot read is a view saying why.
 */
export async function readCluster(
  source: Exclude<KubeSource, { type: 'none' }>,
  service: string | undefined,
  timeoutMs: number,
): Promise<ClusterView> {
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig(source);
  } catch (error) {
    return { reachable: false, why: `cannot load the kubeconfig ${describeSource(source)}: ${describeError(error)}` };
  }
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) {
    return { reachable: false, why: `the kubeconfig ${describeSource(source)} has no current cluster` };
  }
  const api = new HttpKubeApi(kc, { timeoutMs });
  try {
    // Without Berth's CRDs (404) or without leave to list them (403) there is no pool status to show.
    const ippools = await get(api, '/apis/berth.dev/v1alpha1/ippools').catch((error: unknown) => {
      if (error instanceof KubeApiError && error.status === 403) return null;
      throw error;
    });
    const pools = list(record(ippools)['items']);
    const poolConditions = new Map(
      pools.map((p) => {
        const pool = record(p);
        return [
          text(record(pool['metadata'])['name']) ?? '',
          list(record(pool['status'])['conditions']).map(condition),
        ];
      }),
    );
    if (service === undefined) return { reachable: true, poolConditions };
    const [namespace = '', name = ''] = service.split('/');
    const object = await get(api, `/api/v1/namespaces/${namespace}/services/${name}`);
    if (object === null) return { reachable: true, poolConditions, service: null };
    const selector = new URLSearchParams({ fieldSelector: `involvedObject.kind=Service,involvedObject.name=${name}` });
    // Events are a nicety: an identity that may not list them still gets the rest.
    const events = await get(api, `/api/v1/namespaces/${namespace}/events?${selector.toString()}`).catch(() => null);
    return { reachable: true, poolConditions, service: serviceFacts(object, events) };
  } catch (error) {
    return {
      reachable: false,
      why: `cannot read the cluster at ${server} (kubeconfig ${describeSource(source)}): ${describeError(error)}`,
    };
  }
}
