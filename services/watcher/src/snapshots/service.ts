import { isIP, isIPv6 } from 'node:net';
import type { ServiceSnapshot } from '@berth/contracts';
import { isBerths, type ClassPolicy } from '@berth/kube/rules';
import type { ServiceObject } from './objects.js';
import { withRevision } from './revision.js';

/** Annotation prefixes passed on to ipam: Berth's own, MetalLB's and OpenELB's so migrating users keep theirs. */
const ANNOTATION_PREFIXES = ['berth.dev/', 'metallb.io/', 'metallb.universe.tf/', 'eip.openelb.kubesphere.io/'];

/** The snapshot of a Service, or undefined when the Service is not Berth's. */
export function serviceSnapshot(service: ServiceObject, policy: ClassPolicy): ServiceSnapshot | undefined {
  if (!isBerths(service, policy)) return undefined;
  const { metadata } = service;
  const spec = service.spec ?? {};
  const namespace = metadata.namespace ?? 'default';
  const annotations = Object.fromEntries(
    Object.entries(metadata.annotations ?? {}).filter(([key]) => ANNOTATION_PREFIXES.some((p) => key.startsWith(p))),
  );
  const families = (spec.ipFamilies ?? []).filter((f): f is 'IPv4' | 'IPv6' => f === 'IPv4' || f === 'IPv6');
  const policyName = spec.ipFamilyPolicy;
  // The watcher's own status write comes back through here, on purpose: ipam reads the addresses a
  // Service already shows to keep them (after Redis lost its leases, or a move from MetalLB).
  const ingress = (service.status?.loadBalancer?.ingress ?? []).flatMap((i) =>
    i.ip !== undefined && isIP(i.ip) !== 0 ? [i.ip] : [],
  );
  return withRevision<ServiceSnapshot>({
    v: 1,
    key: `${namespace}/${metadata.name}`,
    uid: metadata.uid,
    namespace,
    name: metadata.name,
    labels: metadata.labels ?? {},
    annotations,
    // The API server always fills ipFamilies; the fallback only guards hand-made objects.
    ipFamilies: families.length > 0 ? families : [isIPv6(spec.loadBalancerIP ?? '') ? 'IPv6' : 'IPv4'],
    ipFamilyPolicy: policyName === 'PreferDualStack' || policyName === 'RequireDualStack' ? policyName : 'SingleStack',
    externalTrafficPolicy: spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    ...(spec.loadBalancerIP !== undefined && isIP(spec.loadBalancerIP) !== 0
      ? { loadBalancerIP: spec.loadBalancerIP }
      : {}),
    ports: (spec.ports ?? []).map((p) => ({
      protocol: p.protocol === 'UDP' || p.protocol === 'SCTP' ? p.protocol : 'TCP',
      port: p.port,
    })),
    ...(spec.selector === undefined ? {} : { selector: spec.selector }),
    ingress,
    deleting: metadata.deletionTimestamp !== undefined,
  });
}
