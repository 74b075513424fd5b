import { quote, type IpFamily, type ServiceSnapshot } from '@berth/contracts';
import { AddressError, parseAddress } from '@berth/ipnet';

/** Annotations ipam reads; MetalLB's and OpenELB's names too, so migrating users keep their manifests. */
export const Annotations = {
  pool: [
    'berth.dev/pool',
    'metallb.io/address-pool',
    'metallb.universe.tf/address-pool',
    'eip.openelb.kubesphere.io/v1alpha2',
  ],
  addresses: [
    'berth.dev/ips',
    'metallb.io/loadBalancerIPs',
    'metallb.universe.tf/loadBalancerIPs',
    'eip.openelb.kubesphere.io/v1alpha1',
  ],
  sharingKey: ['berth.dev/sharing-key', 'metallb.io/allow-shared-ip', 'metallb.universe.tf/allow-shared-ip'],
} as const;

/** An address as ipam compares it. */
export interface Address {
  readonly family: IpFamily;
  readonly value: bigint;
  readonly text: string;
}

/** What a Service asks ipam for. */
export interface Request {
  readonly pool?: string;
  /** Specific addresses asked for (at most one per family); empty means "any free one". */
  readonly addresses: readonly Address[];
  readonly sharingKey?: string;
  /** Families to lease, in the Service's order. */
  readonly families: readonly IpFamily[];
  /** Every family is needed (RequireDualStack, or a single stack); otherwise one is enough. */
  readonly needAll: boolean;
}

export type RequestResult =
  { ok: true; request: Request } | { ok: false; reason: 'MalformedAnnotation' | 'FamilyUnavailable'; message: string };

function annotation(service: ServiceSnapshot, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = service.annotations[name];
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/** Reads a Service's request; a malformed annotation is refused naming the annotation. */
export function readRequest(service: ServiceSnapshot): RequestResult {
  const malformed = (message: string): RequestResult => ({ ok: false, reason: 'MalformedAnnotation', message });
  const pool = annotation(service, Annotations.pool);
  if (pool !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(pool.value)) {
    return malformed(`${pool.name}: ${quote(pool.value)} is not a pool name`);
  }
  const sharing = annotation(service, Annotations.sharingKey);
  if (sharing !== undefined && sharing.value.trim() === '') return malformed(`${sharing.name} is empty`);

  const listed = annotation(service, Annotations.addresses);
  const texts =
    listed !== undefined
      ? listed.value.split(',').map((t) => t.trim())
      : service.loadBalancerIP === undefined
        ? []
        : [service.loadBalancerIP];
  const source = listed?.name ?? 'spec.loadBalancerIP';
  const addresses: Address[] = [];
  for (const text of texts) {
    try {
      const { family, value } = parseAddress(text);
      if (addresses.some((a) => a.family === family)) return malformed(`${source}: more than one ${family} address`);
      addresses.push({ family, value, text });
    } catch (error) {
      if (error instanceof AddressError) return malformed(`${source}: ${error.message}`);
      throw error;
    }
  }

  const policy = service.ipFamilyPolicy;
  const families: IpFamily[] = policy === 'SingleStack' ? service.ipFamilies.slice(0, 1) : [...service.ipFamilies];
  const needAll = policy !== 'PreferDualStack';
  if (policy === 'RequireDualStack' && families.length < 2) {
    return {
      ok: false,
      reason: 'FamilyUnavailable',
      message: 'RequireDualStack needs both IPv4 and IPv6 in spec.ipFamilies',
    };
  }
  const stray = addresses.find((a) => !families.includes(a.family));
  if (stray !== undefined) {
    return {
      ok: false,
      reason: 'FamilyUnavailable',
      message: `${source}: ${stray.text} is ${stray.family}, but the Service's families are ${families.join(', ')}`,
    };
  }
  if (addresses.length > 0 && needAll && addresses.length < families.length) {
    return malformed(`${source}: the Service needs ${families.join(' and ')} addresses; name one of each`);
  }
  return {
    ok: true,
    request: {
      ...(pool === undefined ? {} : { pool: pool.value }),
      addresses,
      ...(sharing === undefined ? {} : { sharingKey: sharing.value.trim() }),
      families,
      needAll,
    },
  };
}
