import { Type, type Static } from '@sinclair/typebox';

/** The version every subject, bucket and payload of this contract carries. */
export const CONTRACT_VERSION = 1;

/** An IPv4 or IPv6 address in its textual form, without zone or prefix length. */
export const IpAddress = Type.Union([Type.String({ format: 'ipv4' }), Type.String({ format: 'ipv6' })]);
export type IpAddress = Static<typeof IpAddress>;

export const IpFamily = Type.Union([Type.Literal('IPv4'), Type.Literal('IPv6')]);
export type IpFamily = Static<typeof IpFamily>;

/** A Kubernetes object name (DNS subdomain). */
export const ObjectName = Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' });

/** `namespace/name` of a Service; also the key of its snapshots on the bus. */
export const ServiceKey = Type.String({
  minLength: 3,
  maxLength: 317,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
});
export type ServiceKey = Static<typeof ServiceKey>;

export const StringMap = Type.Record(Type.String(), Type.String());

/** A Kubernetes label selector; an empty selector matches everything. */
export const LabelSelector = Type.Object(
  {
    matchLabels: Type.Optional(StringMap),
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            key: Type.String({ minLength: 1 }),
            operator: Type.Union([
              Type.Literal('In'),
              Type.Literal('NotIn'),
              Type.Literal('Exists'),
              Type.Literal('DoesNotExist'),
            ]),
            values: Type.Optional(Type.Array(Type.String())),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);
export type LabelSelector = Static<typeof LabelSelector>;

/**
 * Opaque version of the source object (a Kubernetes resourceVersion, or the writer's own
 * counter). Two snapshots of one key with the same revision carry the same state.
 */
export const Revision = Type.String({ minLength: 1, maxLength: 64 });
