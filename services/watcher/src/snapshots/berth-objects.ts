import type {
  BgpConfigSnapshot,
  BgpPeerSecretSnapshot,
  BgpPeerSnapshot,
  LabelSelector,
  PoolSnapshot,
} from '@berth/contracts';
import { durationSeconds } from './duration.js';
import { withRevision } from './revision.js';
import type { BGPConfigObject, BGPPeerObject, IPPoolObject, LabelSelectorObject, SecretObject } from './objects.js';

function selector(s: LabelSelectorObject | undefined): { selector?: LabelSelector } {
  if (s === undefined) return {};
  return {
    selector: {
      ...(s.matchLabels === undefined ? {} : { matchLabels: s.matchLabels }),
      ...(s.matchExpressions === undefined ? {} : { matchExpressions: s.matchExpressions }),
    },
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** A pool as ipam reads it; `refusal` says it hands out nothing (it overlaps an older pool). */
export function poolSnapshot(pool: IPPoolObject, refusal?: PoolSnapshot['refusal']): PoolSnapshot {
  const { spec } = pool;
  return withRevision<PoolSnapshot>({
    v: 1,
    key: pool.metadata.name,
    addresses: spec.addresses,
    mode: spec.mode,
    autoAssign: spec.autoAssign ?? true,
    priority: spec.priority ?? 0,
    namespaces: spec.namespaces ?? [],
    ...optional('namespaceSelector', selector(spec.namespaceSelector).selector),
    ...optional('serviceSelector', selector(spec.serviceSelector).selector),
    avoidBuggyIPs: spec.avoidBuggyIPs ?? false,
    ...(spec.bgp === undefined
      ? {}
      : {
          bgp: {
            communities: spec.bgp.communities ?? [],
            ...optional('localPref', spec.bgp.localPref),
            peers: spec.bgp.peers ?? [],
          },
        }),
    ...(spec.layer2 === undefined
      ? {}
      : {
          layer2: {
            interfaces: spec.layer2.interfaces ?? [],
            ...optional('nodeSelector', selector(spec.layer2.nodeSelector).selector),
          },
        }),
    ...optional('refusal', refusal),
  });
}

/**
 * A BGPPeer's snapshot and, when it has a password, the password's own snapshot (for the bucket only
 * route-publisher reads); or why they cannot be built yet (say, the password Secret is missing).
 */
export type PeerResult =
  { ok: true; snapshot: BgpPeerSnapshot; secret: BgpPeerSecretSnapshot | undefined } | { ok: false; problem: string };

/**
 * @param secrets Secrets in Berth's namespace, by name.
 * @param defaultASN BGPConfig's asn, used when the peer names no myASN.
 */
export function bgpPeerSnapshot(
  peer: BGPPeerObject,
  secrets: ReadonlyMap<string, SecretObject>,
  defaultASN: number | undefined,
): PeerResult {
  const { spec, metadata } = peer;
  const myASN = spec.myASN ?? defaultASN;
  if (myASN === undefined) return { ok: false, problem: 'no myASN and no BGPConfig default with an asn' };
  let password: string | undefined;
  if (spec.passwordSecretRef !== undefined) {
    const { name, key = 'password' } = spec.passwordSecretRef;
    const value = secrets.get(name)?.data?.[key];
    if (value === undefined) return { ok: false, problem: `password Secret ${name} has no key ${key}` };
    password = Buffer.from(value, 'base64').toString('utf8');
    if (password.length > 80)
      return { ok: false, problem: `password in Secret ${name} is longer than TCP MD5's 80 characters` };
  }
  const hold = durationSeconds(spec.holdTime ?? '90s') ?? 90;
  // A hold time of 0 turns keepalives off (RFC 4271); otherwise a third of it unless set.
  const keepalive =
    hold === 0
      ? 0
      : spec.keepaliveTime === undefined
        ? Math.floor(hold / 3)
        : (durationSeconds(spec.keepaliveTime) ?? hold / 3);
  return {
    ok: true,
    secret:
      password === undefined ? undefined : withRevision<BgpPeerSecretSnapshot>({ v: 1, key: metadata.name, password }),
    snapshot: withRevision<BgpPeerSnapshot>({
      v: 1,
      key: metadata.name,
      peerAddress: spec.peerAddress,
      peerASN: spec.peerASN,
      myASN,
      port: spec.port ?? 179,
      holdTimeSeconds: Math.round(hold),
      keepaliveTimeSeconds: hold === 0 ? 0 : Math.max(1, Math.round(keepalive)),
      tcpMd5: password !== undefined,
      ...optional('ebgpMultihop', spec.ebgpMultihop),
      ...optional('nodeSelector', selector(spec.nodeSelector).selector),
      families: spec.addressFamilies ?? ['IPv4', 'IPv6'],
      addPath: spec.addPath ?? false,
    }),
  };
}

export function bgpConfigSnapshot(config: BGPConfigObject): BgpConfigSnapshot {
  const { spec } = config;
  return withRevision<BgpConfigSnapshot>({
    v: 1,
    key: 'default',
    asn: spec.asn,
    ...optional('routerId', spec.routerID),
    listenPort: spec.listenPort ?? 179,
    topology: spec.topology ?? 'per-node',
    gracefulRestart: spec.gracefulRestart?.enabled ?? false,
  });
}
