import { clusterCrd } from './crd.js';
import { boolean, conditions, duration, integer, object, string, withRules } from './schema.js';

export const bgpConfigCrd = clusterCrd({
  kind: 'BGPConfig',
  plural: 'bgpconfigs',
  shortNames: ['bgpc'],
  description: 'How Berth speaks BGP. There is one, named default.',
  rules: [{ rule: "self.metadata.name == 'default'", message: 'there is one BGPConfig and its name is default' }],
  spec: object(
    {
      asn: integer(1, 4294967295, { description: 'Berth’s AS number.' }),
      routerID: withRules(
        string({ maxLength: 15, description: 'BGP identifier (default: each node’s IPv4 address).' }),
        [
          {
            rule: 'isIP(self) && ip(self).family() == 4',
            messageExpression:
              "'routerID \"' + self + '\" must be an IPv4 address: BGP identifiers are 32 bits, even on IPv6-only nodes'",
          },
        ],
      ),
      listenPort: integer(-1, 65535, {
        default: 179,
        description: 'Port for incoming BGP sessions; -1 to accept none.',
      }),
      topology: string({
        enum: ['central', 'per-node'],
        default: 'per-node',
        description: 'per-node: a speaker on every node, plain ECMP at the router. central: one speaker, ADD-PATH.',
      }),
      gracefulRestart: object({
        enabled: boolean(false, 'Advertise graceful restart so routers keep routes while a speaker restarts.'),
        restartTime: duration('How long routers keep the routes.', '120s'),
      }),
    },
    { required: ['asn'] },
  ),
  status: object({ conditions }),
  columns: [
    { name: 'ASN', type: 'integer', jsonPath: '.spec.asn' },
    { name: 'Topology', type: 'string', jsonPath: '.spec.topology' },
    { name: 'Router ID', type: 'string', jsonPath: '.spec.routerID' },
  ],
});
