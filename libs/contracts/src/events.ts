import { randomUUID } from 'node:crypto';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { IpAddress, ObjectName, ServiceKey } from './common.js';

/**
 * The CloudEvents `type` of each event Berth publishes, and the bus subject it travels on. One
 * marked `byNode` travels on `<subject>.<node>`, the publishing node-agent's own, so that the bus
 * lets each node publish only as itself.
 */
export const EventTypes = {
  vipAssigned: { type: 'dev.berth.vip.assigned.v1', subject: 'berth.v1.events.vip.assigned' },
  vipReleased: { type: 'dev.berth.vip.released.v1', subject: 'berth.v1.events.vip.released' },
  routeAnnounced: { type: 'dev.berth.route.announced.v1', subject: 'berth.v1.events.route.announced' },
  routeChanged: { type: 'dev.berth.route.changed.v1', subject: 'berth.v1.events.route.changed' },
  routeWithdrawn: { type: 'dev.berth.route.withdrawn.v1', subject: 'berth.v1.events.route.withdrawn' },
  l2OwnerChanged: {
    type: 'dev.berth.layer2.owner-changed.v1',
    subject: 'berth.v1.events.layer2.owner-changed',
    byNode: true,
  },
} as const;
export type EventName = keyof typeof EventTypes;

/** A CloudEvents 1.0 structured-mode JSON envelope around `data`. */
// N keeps each event's `type` a literal in the inferred schema type.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
function cloudEvent<N extends EventName, D extends TSchema>(name: N, data: D) {
  return Type.Object(
    {
      specversion: Type.Literal('1.0'),
      id: Type.String({ minLength: 1 }),
      /** `berth/<component>/<instance>`. */
      source: Type.String({ minLength: 1, pattern: '^berth/' }),
      type: Type.Literal(EventTypes[name].type),
      time: Type.String({ format: 'date-time' }),
      datacontenttype: Type.Literal('application/json'),
      /** The VIP the event is about, so consumers can filter without reading `data`. */
      subject: IpAddress,
      data,
    },
    { $id: EventTypes[name].type, additionalProperties: false },
  );
}

const ServiceRef = {
  service: ServiceKey,
  serviceUid: Type.String({ minLength: 1 }),
  pool: ObjectName,
};

const VipData = Type.Object({ vip: IpAddress, ...ServiceRef }, { additionalProperties: false });

const RouteData = Type.Object(
  {
    /** The announced prefix: the VIP as a /32 or /128. */
    prefix: Type.String({ pattern: '/(32|128)$' }),
    vip: IpAddress,
    nextHops: Type.Array(IpAddress),
    communities: Type.Array(Type.String()),
    localPref: Type.Optional(Type.Integer({ minimum: 0 })),
    /**
     * The BGP speaker that announces it: the central speaker's name (next hops: every serving
     * node), or a node's name in the per-node topology (next hop: that node).
     */
    speaker: Type.String({ minLength: 1, maxLength: 253 }),
    ...ServiceRef,
  },
  { additionalProperties: false },
);

export const VipAssignedEvent = cloudEvent('vipAssigned', VipData);
export const VipReleasedEvent = cloudEvent('vipReleased', VipData);
export const RouteAnnouncedEvent = cloudEvent('routeAnnounced', RouteData);
export const RouteChangedEvent = cloudEvent('routeChanged', RouteData);
export const RouteWithdrawnEvent = cloudEvent('routeWithdrawn', RouteData);
export const L2OwnerChangedEvent = cloudEvent(
  'l2OwnerChanged',
  Type.Object(
    {
      vip: IpAddress,
      /** The node now answering ARP/NDP for the VIP; absent when no node is eligible. */
      node: Type.Optional(ObjectName),
      previousNode: Type.Optional(ObjectName),
      ...ServiceRef,
    },
    { additionalProperties: false },
  ),
);

export type VipAssignedEvent = Static<typeof VipAssignedEvent>;
export type VipReleasedEvent = Static<typeof VipReleasedEvent>;
export type RouteAnnouncedEvent = Static<typeof RouteAnnouncedEvent>;
export type RouteChangedEvent = Static<typeof RouteChangedEvent>;
export type RouteWithdrawnEvent = Static<typeof RouteWithdrawnEvent>;
export type L2OwnerChangedEvent = Static<typeof L2OwnerChangedEvent>;

/** Every event schema by name, for validation and for the published JSON Schema. */
export const EventSchemas = {
  vipAssigned: VipAssignedEvent,
  vipReleased: VipReleasedEvent,
  routeAnnounced: RouteAnnouncedEvent,
  routeChanged: RouteChangedEvent,
  routeWithdrawn: RouteWithdrawnEvent,
  l2OwnerChanged: L2OwnerChangedEvent,
} as const satisfies Record<EventName, TSchema>;

/** A new CloudEvent of `name` about `subject` (a VIP), with a fresh id and the current time. */
export function newEvent<N extends EventName>(
  name: N,
  source: string,
  subject: string,
  data: Static<(typeof EventSchemas)[N]>['data'],
): Static<(typeof EventSchemas)[N]> {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source,
    type: EventTypes[name].type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    subject,
    data,
  };
}
