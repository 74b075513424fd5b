/** Which Services are Berth's. */
export interface ClassPolicy {
  /** `spec.loadBalancerClass` that names Berth. */
  readonly className: string;
  /** Also take Services with no class (Berth is the cluster's default load balancer). */
  readonly isDefault: boolean;
}

/** Why a Service is not Berth's. */
export type NotBerths = 'notLoadBalancer' | 'otherClass' | 'noClass';

/** Undefined when a Service with this spec is Berth's; else which part of the rule it fails. */
export function whyNotBerths(
  spec: { readonly type?: string | undefined; readonly loadBalancerClass?: string | undefined } | undefined,
  policy: ClassPolicy,
): NotBerths | undefined {
  if (spec?.type !== 'LoadBalancer') return 'notLoadBalancer';
  const cls = spec.loadBalancerClass;
  if (cls === undefined) return policy.isDefault ? undefined : 'noClass';
  return cls === policy.className ? undefined : 'otherClass';
}

export function isBerths(
  service: { readonly spec?: Parameters<typeof whyNotBerths>[0] },
  policy: ClassPolicy,
): boolean {
  return whyNotBerths(service.spec, policy) === undefined;
}
