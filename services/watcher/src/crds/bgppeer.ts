import { clusterCrd } from './crd.js';
import { boolean, duration, integer, labelSelector, object, objectName, setOf, string, withRules } from './schema.js';

const asn = (description: string) => integer(1, 4294967295, { description });

export const bgpPeerCrd = clusterCrd({
  kind: 'BGPPeer',
  plural: 'bgppeers',
  shortNames: ['bgpp'],
  description: 'An upstream router Berth announces VIPs to.',
  spec: object(
    {
      peerAddress: withRules(string({ maxLength: 39, description: 'The router’s address, IPv4 or IPv6.' }), [
        { rule: 'isIP(self)', messageExpression: "'peerAddress \"' + self + '\" is not an IP address'" },
      ]),
      peerASN: asn('The router’s AS number.'),
      myASN: asn('Berth’s AS number towards this router (default: BGPConfig asn).'),
      port: integer(1, 65535, { default: 179, description: 'The router’s BGP port.' }),
      holdTime: withRules(duration('BGP hold time: 0s (no keepalives) or 3s to 65535s.', '90s'), [
        {
          rule: "duration(self) == duration('0s') || (duration(self) >= duration('3s') && duration(self) <= duration('65535s'))",
          messageExpression: "'holdTime ' + self + ' is not allowed: use 0s, or between 3s and 65535s (RFC 4271)'",
        },
      ]),
      keepaliveTime: duration('Keepalive interval; below holdTime (default: a third of it).'),
      passwordSecretRef: object(
        {
          name: objectName,
          key: string({ maxLength: 253, default: 'password' }),
        },
        {
          required: ['name'],
          description: 'A Secret in the namespace Berth runs in, holding the TCP MD5 password of the session.',
        },
      ),
      ebgpMultihop: integer(1, 255, {
        description: 'TTL for eBGP sessions to routers that are not directly connected.',
      }),
      nodeSelector: labelSelector('Only nodes with these labels peer with this router (per-node topology).'),
      addressFamilies: {
        ...setOf(string({ enum: ['IPv4', 'IPv6'] }), 2, 'Which VIP families to announce (default: both).'),
        minItems: 1,
      },
      addPath: boolean(
        false,
        'Send one path per next hop with BGP ADD-PATH (central topology; the router must accept it).',
      ),
    },
    {
      required: ['peerAddress', 'peerASN'],
      'x-kubernetes-validations': [
        {
          rule: '!has(self.keepaliveTime) || duration(self.keepaliveTime) < duration(self.holdTime)',
          message: 'keepaliveTime must be shorter than holdTime',
        },
      ],
    },
  ),
  status: object({
    sessions: {
      type: 'array',
      maxItems: 1024,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['speaker'],
      description: 'The session as each BGP speaker sees it.',
      items: object(
        {
          speaker: string({ maxLength: 253, description: 'The node (per-node) or instance (central) speaking BGP.' }),
          state: string({ enum: ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established', 'Unknown'] }),
          since: string({ format: 'date-time' }),
          prefixesAnnounced: integer(0, Number.MAX_SAFE_INTEGER),
          message: string({ maxLength: 1024 }),
        },
        { required: ['speaker', 'state'] },
      ),
    },
  }),
  columns: [
    { name: 'Address', type: 'string', jsonPath: '.spec.peerAddress' },
    { name: 'Peer ASN', type: 'integer', jsonPath: '.spec.peerASN' },
    { name: 'My ASN', type: 'integer', jsonPath: '.spec.myASN' },
    { name: 'AddPath', type: 'boolean', jsonPath: '.spec.addPath' },
    { name: 'Sessions', type: 'string', jsonPath: '.status.sessions[*].state', priority: 1 },
  ],
});
