import { hostname } from 'node:os';
import { busConfig, nodeHealthConfig } from '@berth/bus';
import { env } from '@berth/runtime';
import { DEBIAN_PROTO_DIR } from './gobgp/client.js';

export const routePublisherConfig = {
  healthPort: env.port('BERTH_HEALTH_PORT', 9103),
  ...busConfig,
  /** gobgpd's gRPC API: a Unix socket or a loopback address (it has no authentication). */
  gobgpTarget: env.string('BERTH_GOBGP_TARGET', 'unix:///run/gobgp/gobgp.sock'),
  /** Where GoBGP's `gobgp.proto`, `attribute.proto` and `capability.proto` are. */
  gobgpProtoDir: env.string('BERTH_GOBGP_PROTO_DIR', DEBIAN_PROTO_DIR),
  /** Set on a node (per-node topology): this process drives that node's speaker. */
  nodeName: env.optionalString('BERTH_NODE_NAME'),
  /** The central speaker's name in BGPPeer status and route events. */
  speakerName: env.string('BERTH_SPEAKER_NAME', hostname()),
  /** The central speaker's router ID when BGPConfig names none. */
  routerId: env.optionalString('BERTH_ROUTER_ID'),
  ...nodeHealthConfig,
  /** Ready once every peer's session is established, or after this long at most. */
  sessionsReadyTimeoutMs: env.integer('BERTH_SESSIONS_READY_TIMEOUT_MS', 0, 600_000, 30_000),
} as const;
