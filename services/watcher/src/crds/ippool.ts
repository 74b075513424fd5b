import { addressRules } from './address-rules.js';
import { clusterCrd } from './crd.js';
import { boolean, conditions, integer, labelSelector, object, objectName, setOf, string, withRules } from './schema.js';

const usage = object(
  {
    total: string({ description: 'Addresses in the pool (decimal; an IPv6 pool can exceed 2^63)' }),
    inUse: integer(0, Number.MAX_SAFE_INTEGER),
    free: string({ description: 'Addresses not leased (decimal)' }),
  },
  { required: ['total', 'inUse', 'free'] },
);

export const ipPoolCrd = clusterCrd({
  kind: 'IPPool',
  plural: 'ippools',
  shortNames: ['ipp'],
  description: 'A set of addresses Berth may lease to LoadBalancer Services, and how they are announced.',
  spec: object(
    {
      addresses: {
        ...setOf(
          withRules(string({ minLength: 1, maxLength: 79 }), addressRules()),
          64,
          'Addresses as CIDRs (192.0.2.0/24), ranges (192.0.2.10-192.0.2.20) or single addresses; IPv4 and IPv6 may be mixed.',
        ),
        minItems: 1,
      },
      mode: string({
        enum: ['bgp', 'layer2'],
        description: 'bgp: routes to upstream routers; layer2: one node answers ARP/NDP.',
      }),
      autoAssign: boolean(true, 'Whether Services that name no pool may get addresses from this one.'),
      priority: integer(0, 1000, { default: 0, description: 'Pools with a lower value are tried first.' }),
      avoidBuggyIPs: boolean(false, 'Skip addresses ending in .0 and .255, which some old clients mishandle.'),
      namespaces: setOf(string({ maxLength: 63 }), 256, 'Only Services in these namespaces may use the pool.'),
      namespaceSelector: labelSelector('Only Services in namespaces with these labels may use the pool.'),
      serviceSelector: labelSelector('Only Services with these labels may use the pool.'),
      bgp: object(
        {
          communities: setOf(
            withRules(string({ maxLength: 11, pattern: '^[0-9]{1,5}:[0-9]{1,5}$' }), [
              {
                rule: "self.split(':').all(part, int(part) <= 65535)",
                messageExpression: "'community \"' + self + '\" must be two numbers up to 65535: ASN:VALUE'",
              },
            ]),
            32,
            'BGP communities attached to the routes, as ASN:VALUE.',
          ),
          localPref: integer(0, 4294967295, { description: 'LOCAL_PREF for iBGP peers.' }),
          peers: setOf(
            objectName,
            64,
            'Reserved: announcing to only some BGPPeers is not supported yet, so the list must be empty.',
          ),
        },
        {
          description: 'Settings for mode bgp.',
          // GoBGP 3 matches an export policy's neighbor condition against where a path came from,
          // not where it goes, so a pool cannot be kept from some peers. Refused, never ignored:
          // routes announced to a peer the operator meant to exclude would be a leak.
          'x-kubernetes-validations': [
            {
              rule: '!has(self.peers) || size(self.peers) == 0',
              message:
                'bgp.peers is not supported yet: every BGPPeer receives the routes of every bgp pool; remove bgp.peers, or limit which routers peer with which nodes with BGPPeer nodeSelector',
            },
          ],
        },
      ),
      layer2: object(
        {
          interfaces: setOf(string({ maxLength: 15 }), 32, 'Answer ARP/NDP only on these interfaces (default: all).'),
          nodeSelector: labelSelector('Only nodes with these labels may answer for the pool.'),
        },
        { description: 'Settings for mode layer2.' },
      ),
    },
    {
      required: ['addresses', 'mode'],
      'x-kubernetes-validations': [
        { rule: "self.mode == 'bgp' || !has(self.bgp)", message: 'bgp settings apply only to a pool with mode: bgp' },
        {
          rule: "self.mode == 'layer2' || !has(self.layer2)",
          message: 'layer2 settings apply only to a pool with mode: layer2',
        },
      ],
    },
  ),
  status: object({ ipv4: usage, ipv6: usage, conditions }),
  columns: [
    { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
    { name: 'Addresses', type: 'string', jsonPath: '.spec.addresses' },
    { name: 'Auto', type: 'boolean', jsonPath: '.spec.autoAssign' },
    { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
    { name: 'Free v4', type: 'string', jsonPath: '.status.ipv4.free' },
    { name: 'Free v6', type: 'string', jsonPath: '.status.ipv6.free' },
    { name: 'Valid', type: 'string', jsonPath: '.status.conditions[?(@.type=="Valid")].status' },
  ],
});
