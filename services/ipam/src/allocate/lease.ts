import { Type, type Static } from '@sinclair/typebox';
import { IpAddress, ServiceKey, ServiceSnapshot, validator, type AllocationSnapshot } from '@berth/contracts';
import { canonicalAddress } from '@berth/ipnet';
import type { Request } from './request.js';

/**
 * One Service's addresses as ipam holds them in Redis (`lease:<service UID>`), with the terms the
 * sharing rule compares. Read back from Redis, it is checked against this schema like bus data.
 */
export const Lease = Type.Object(
  {
    serviceUid: Type.String({ minLength: 1 }),
    service: ServiceKey,
    /** Empty for an address kept from a Service's status that no pool holds. */
    pool: Type.String(),
    mode: Type.Union([Type.Literal('bgp'), Type.Literal('layer2')]),
    addresses: Type.Array(IpAddress, { minItems: 1 }),
    sharingKey: Type.Optional(Type.String({ minLength: 1 })),
    ports: ServiceSnapshot.properties.ports,
    externalTrafficPolicy: ServiceSnapshot.properties.externalTrafficPolicy,
    selector: ServiceSnapshot.properties.selector,
  },
  { $id: 'berth.ipam.Lease', additionalProperties: false },
);
export type Lease = Static<typeof Lease>;

export const leaseSchema = validator(Lease);

type Assigned = Extract<AllocationSnapshot['result'], { type: 'assigned' }>;

/** The lease that makes an assignment real for `service`, its addresses in canonical form. */
export function leaseFor(
  service: ServiceSnapshot,
  request: Pick<Request, 'sharingKey'>,
  assignment: Pick<Assigned, 'pool' | 'mode' | 'addresses'>,
): Lease {
  return {
    serviceUid: service.uid,
    service: service.key,
    pool: assignment.pool,
    mode: assignment.mode,
    addresses: assignment.addresses.map(canonicalAddress),
    ...(request.sharingKey === undefined ? {} : { sharingKey: request.sharingKey }),
    ports: service.ports,
    externalTrafficPolicy: service.externalTrafficPolicy,
    ...(service.selector === undefined ? {} : { selector: service.selector }),
  };
}
