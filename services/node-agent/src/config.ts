import { hostname } from 'node:os';
import { busConfig, nodeHealthConfig } from '@berth/bus';
import { env } from '@berth/runtime';

export const nodeAgentConfig = {
  healthPort: env.port('BERTH_HEALTH_PORT', 9104),
  ...busConfig,
  /** This node's name as Kubernetes knows it (the DaemonSet sets it from spec.nodeName). */
  nodeName: env.string('BERTH_NODE_NAME', hostname()),
  /** How often this agent says it is alive. */
  heartbeatIntervalMs: env.integer('BERTH_HEARTBEAT_INTERVAL_MS', 20, 10_000, 100),
  /** Must be the same on every agent, and above the heartbeat interval. */
  ...nodeHealthConfig,
  /** Only these interfaces (comma-separated); unset: every Ethernet interface not excluded below. */
  interfaces: env.list('BERTH_L2_INTERFACES', []),
  /** Interfaces never answered on unless listed above: loopback, pods' veths, bridges of CNIs, tunnels. */
  excludeInterfaces: env.regex(
    'BERTH_L2_EXCLUDE_INTERFACES',
    '^(lo|veth.*|cni.*|docker.*|cali.*|flannel.*|cilium.*|lxc.*|kube-.*|vxlan.*|tunl.*|tap.*|genev.*|wg.*)$',
  ),
  /** How often interfaces are looked for again (new ones opened, gone ones closed). */
  interfaceScanMs: env.integer('BERTH_INTERFACE_SCAN_MS', 100, 600_000, 5000),
} as const;
