import type { IpFamily } from '@berth/contracts';
import type { HeldPeer, PeerSpec } from '../peers/desired-peers.js';
import type { PathSpec } from '../routes/speaker-paths.js';
import type { SessionState } from '../backend/backend.js';
import type { Reply } from './reply.js';

// Conversions between Berth's paths and peers and GoBGP's API messages (proto3 JSON form): the
// requests typed as GoBGP's protos define them, the replies read through `Reply`.

const TYPE = 'type.googleapis.com/apipb.';
type Any<Name extends string> = `${typeof TYPE}${Name}`;

export interface ApiFamily {
  readonly afi: 'AFI_IP' | 'AFI_IP6';
  readonly safi: 'SAFI_UNICAST';
}

interface IpAddressPrefix {
  readonly '@type': Any<'IPAddressPrefix'>;
  readonly prefix: string;
  readonly prefix_len: number;
}

type PathAttribute =
  | { readonly '@type': Any<'OriginAttribute'>; readonly origin: number }
  | { readonly '@type': Any<'NextHopAttribute'>; readonly next_hop: string }
  | {
      readonly '@type': Any<'MpReachNLRIAttribute'>;
      readonly family: ApiFamily;
      readonly next_hops: readonly string[];
      readonly nlris: readonly IpAddressPrefix[];
    }
  | { readonly '@type': Any<'CommunitiesAttribute'>; readonly communities: readonly number[] }
  | { readonly '@type': Any<'LocalPrefAttribute'>; readonly local_pref: number };

/** apipb.Path, as AddPath/DeletePath take it. */
export interface ApiPath {
  readonly family: ApiFamily;
  readonly nlri: IpAddressPrefix;
  readonly pattrs: readonly PathAttribute[];
  readonly identifier: number;
}

/** apipb.Peer, the parts Berth sets. */
export interface ApiPeer {
  readonly conf: {
    readonly neighbor_address: string;
    readonly peer_asn: number;
    readonly local_asn: number;
    readonly auth_password?: string;
    readonly description: string;
  };
  readonly transport: { readonly remote_port: number; readonly passive_mode: boolean };
  readonly timers: {
    readonly config: {
      readonly hold_time: number;
      readonly keepalive_interval: number;
      readonly connect_retry: number;
    };
  };
  readonly ebgp_multihop?: { readonly enabled: boolean; readonly multihop_ttl: number };
  readonly graceful_restart?: { readonly enabled: boolean; readonly restart_time: number };
  readonly afi_safis: readonly {
    readonly config: { readonly family: ApiFamily; readonly enabled: boolean };
    readonly mp_graceful_restart?: { readonly config: { readonly enabled: boolean } };
    readonly add_paths?: { readonly config: { readonly send_max: number; readonly receive: boolean } };
  }[];
}

export const familyMessage = (family: IpFamily): ApiFamily => ({
  afi: family === 'IPv4' ? 'AFI_IP' : 'AFI_IP6',
  safi: 'SAFI_UNICAST',
});

/** A path as AddPath/DeletePath take it. IPv6 carries its next hop in MP_REACH_NLRI. */
export function pathMessage(path: PathSpec): ApiPath {
  const [prefix = '', length = ''] = path.prefix.split('/');
  const nlri: IpAddressPrefix = { '@type': `${TYPE}IPAddressPrefix`, prefix, prefix_len: Number(length) };
  const pattrs: PathAttribute[] = [{ '@type': `${TYPE}OriginAttribute`, origin: 0 }];
  if (path.family === 'IPv4') pattrs.push({ '@type': `${TYPE}NextHopAttribute`, next_hop: path.nextHop });
  else
    pattrs.push({
      '@type': `${TYPE}MpReachNLRIAttribute`,
      family: familyMessage('IPv6'),
      next_hops: [path.nextHop],
      nlris: [nlri],
    });
  if (path.communities.length > 0)
    pattrs.push({ '@type': `${TYPE}CommunitiesAttribute`, communities: path.communities.map(communityNumber) });
  if (path.localPref !== undefined) pattrs.push({ '@type': `${TYPE}LocalPrefAttribute`, local_pref: path.localPref });
  return { family: familyMessage(path.family), nlri, pattrs, identifier: path.identifier };
}

/** Reads back a path from ListPath; undefined for anything Berth does not originate. */
export function pathFromMessage(message: Reply, family: IpFamily): PathSpec | undefined {
  const nlri = message.get('nlri');
  const prefix = nlri.text('prefix');
  if (nlri.text('@type') !== `${TYPE}IPAddressPrefix` || prefix === undefined) return undefined;
  let nextHop: string | undefined;
  let communities: string[] = [];
  let localPref: number | undefined;
  for (const attr of message.list('pattrs')) {
    const type = attr.text('@type');
    if (type === `${TYPE}NextHopAttribute`) nextHop = attr.text('next_hop');
    else if (type === `${TYPE}MpReachNLRIAttribute`) nextHop = attr.texts('next_hops')[0];
    else if (type === `${TYPE}CommunitiesAttribute`)
      communities = attr.numbers('communities').map(communityText).sort();
    else if (type === `${TYPE}LocalPrefAttribute`) localPref = attr.number('local_pref');
  }
  if (nextHop === undefined) return undefined;
  return {
    prefix: `${prefix}/${nlri.number('prefix_len') ?? 0}`,
    family,
    identifier: message.number('identifier') ?? 0,
    nextHop,
    communities,
    ...(localPref === undefined ? {} : { localPref }),
  };
}

const communityNumber = (text: string): number => {
  const [asn = 0, value = 0] = text.split(':').map(Number);
  return asn * 65536 + value;
};
const communityText = (n: number): string => `${Math.floor(n / 65536)}:${n % 65536}`;

/** A neighbor as AddPeer takes it. */
export function peerMessage(peer: PeerSpec): ApiPeer {
  return {
    conf: {
      neighbor_address: peer.address,
      peer_asn: peer.peerAsn,
      local_asn: peer.localAsn,
      ...(peer.password === undefined ? {} : { auth_password: peer.password }),
      description: `berth:${peer.name}`,
    },
    transport: { remote_port: peer.port, passive_mode: false },
    timers: {
      config: {
        hold_time: peer.holdTimeSeconds,
        keepalive_interval: peer.keepaliveTimeSeconds,
        connect_retry: 5,
      },
    },
    ...(peer.ebgpMultihop === undefined ? {} : { ebgp_multihop: { enabled: true, multihop_ttl: peer.ebgpMultihop } }),
    ...(peer.gracefulRestart ? { graceful_restart: { enabled: true, restart_time: 120 } } : {}),
    afi_safis: peer.families.map((family) => ({
      config: { family: familyMessage(family), enabled: true },
      ...(peer.gracefulRestart ? { mp_graceful_restart: { config: { enabled: true } } } : {}),
      ...(peer.addPathSend ? { add_paths: { config: { send_max: 255, receive: false } } } : {}),
    })),
  };
}

/** What the daemon holds for a neighbor (a ListPeer reply), in the terms `diffPeers` compares. */
export function heldPeer(message: Reply): HeldPeer {
  const peer = message.get('peer');
  const conf = peer.get('conf');
  const timers = peer.get('timers').get('config');
  const multihop = peer.get('ebgp_multihop');
  const afiSafis = peer.list('afi_safis');
  const families = afiSafis
    .map((a) => a.get('config').get('family').text('afi'))
    .map((afi): IpFamily | undefined => (afi === 'AFI_IP' ? 'IPv4' : afi === 'AFI_IP6' ? 'IPv6' : undefined))
    .filter((f) => f !== undefined)
    .sort();
  const password = conf.text('auth_password');
  return {
    address: conf.text('neighbor_address') ?? '',
    peerAsn: conf.number('peer_asn') ?? 0,
    localAsn: conf.number('local_asn') ?? 0,
    port: peer.get('transport').number('remote_port') ?? 0,
    holdTimeSeconds: timers.number('hold_time') ?? 0,
    keepaliveTimeSeconds: timers.number('keepalive_interval') ?? 0,
    ...(password !== undefined && password !== '' ? { password } : {}),
    ...(multihop.flag('enabled') ? { ebgpMultihop: multihop.number('multihop_ttl') ?? 0 } : {}),
    families,
    addPathSend: afiSafis.some((a) => (a.get('add_paths').get('config').number('send_max') ?? 0) > 0),
    gracefulRestart: peer.get('graceful_restart').flag('enabled'),
  };
}

const STATES: Record<string, SessionState> = {
  IDLE: 'Idle',
  CONNECT: 'Connect',
  ACTIVE: 'Active',
  OPENSENT: 'OpenSent',
  OPENCONFIRM: 'OpenConfirm',
  ESTABLISHED: 'Established',
};

export function sessionState(peer: Reply): SessionState {
  const state = peer.get('state').text('session_state');
  return (state === undefined ? undefined : STATES[state]) ?? 'Unknown';
}

export function advertisedPrefixes(peer: Reply): number {
  let total = 0;
  for (const afi of peer.list('afi_safis')) total += afi.get('state').number('advertised') ?? 0;
  return total;
}
