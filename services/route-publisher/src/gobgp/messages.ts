import type { IpFamily } from '@berth/contracts';
import type { HeldPeer, PeerSpec } from '../peers/desired-peers.js';
import type { PathSpec } from '../routes/speaker-paths.js';
import type { SessionState } from '../backend/backend.js';
import type { Message } from './client.js';

// Conversions between Berth's paths and peers and GoBGP's API messages (proto3 JSON form).

const TYPE = 'type.googleapis.com/apipb.';

export const familyMessage = (family: IpFamily) => ({
  afi: family === 'IPv4' ? 'AFI_IP' : 'AFI_IP6',
  safi: 'SAFI_UNICAST',
});

/** A path as AddPath/DeletePath take it. IPv6 carries its next hop in MP_REACH_NLRI. */
export function pathMessage(path: PathSpec): Message {
  const [prefix = '', length = ''] = path.prefix.split('/');
  const nlri = { '@type': `${TYPE}IPAddressPrefix`, prefix, prefix_len: Number(length) };
  const pattrs: Message[] = [{ '@type': `${TYPE}OriginAttribute`, origin: 0 }];
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
export function pathFromMessage(message: Message, family: IpFamily): PathSpec | undefined {
  const nlri = message['nlri'] as Message | undefined;
  if (nlri?.['@type'] !== `${TYPE}IPAddressPrefix`) return undefined;
  let nextHop: string | undefined;
  let communities: string[] = [];
  let localPref: number | undefined;
  for (const attr of (message['pattrs'] as Message[] | undefined) ?? []) {
    const type = attr['@type'];
    if (type === `${TYPE}NextHopAttribute`) nextHop = String(attr['next_hop']);
    else if (type === `${TYPE}MpReachNLRIAttribute`) nextHop = (attr['next_hops'] as string[] | undefined)?.[0];
    else if (type === `${TYPE}CommunitiesAttribute`)
      communities = ((attr['communities'] as number[] | undefined) ?? []).map(communityText).sort();
    else if (type === `${TYPE}LocalPrefAttribute`) localPref = Number(attr['local_pref']);
  }
  if (nextHop === undefined) return undefined;
  return {
    prefix: `${String(nlri['prefix'])}/${String(nlri['prefix_len'])}`,
    family,
    identifier: Number(message['identifier'] ?? 0),
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
export function peerMessage(peer: PeerSpec): Message {
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

/** What the daemon holds for a neighbor, in the terms `diffPeers` compares. */
export function heldPeer(message: Message): HeldPeer {
  const peer = (message['peer'] ?? {}) as Message;
  const conf = (peer['conf'] ?? {}) as Message;
  const timers = ((peer['timers'] as Message | undefined)?.['config'] ?? {}) as Message;
  const transport = (peer['transport'] ?? {}) as Message;
  const multihop = (peer['ebgp_multihop'] ?? {}) as Message;
  const afiSafis = (peer['afi_safis'] as Message[] | undefined) ?? [];
  const families = afiSafis
    .map((a) => ((a['config'] as Message | undefined)?.['family'] as Message | undefined)?.['afi'])
    .map((afi): IpFamily | undefined => (afi === 'AFI_IP' ? 'IPv4' : afi === 'AFI_IP6' ? 'IPv6' : undefined))
    .filter((f) => f !== undefined)
    .sort();
  const password = conf['auth_password'];
  return {
    address: String(conf['neighbor_address']),
    peerAsn: Number(conf['peer_asn'] ?? 0),
    localAsn: Number(conf['local_asn'] ?? 0),
    port: Number(transport['remote_port'] ?? 0),
    holdTimeSeconds: Number(timers['hold_time'] ?? 0),
    keepaliveTimeSeconds: Number(timers['keepalive_interval'] ?? 0),
    ...(typeof password === 'string' && password !== '' ? { password } : {}),
    ...(multihop['enabled'] === true ? { ebgpMultihop: Number(multihop['multihop_ttl']) } : {}),
    families,
    addPathSend: afiSafis.some(
      (a) =>
        Number(((a['add_paths'] as Message | undefined)?.['config'] as Message | undefined)?.['send_max'] ?? 0) > 0,
    ),
    gracefulRestart: (peer['graceful_restart'] as Message | undefined)?.['enabled'] === true,
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

export function sessionState(peer: Message): SessionState {
  const state = (peer['state'] as Message | undefined)?.['session_state'];
  return (typeof state === 'string' ? STATES[state] : undefined) ?? 'Unknown';
}

export function advertisedPrefixes(peer: Message): number {
  let total = 0;
  for (const afi of (peer['afi_safis'] as Message[] | undefined) ?? [])
    total += ((afi['state'] as Message | undefined)?.['advertised'] as number | undefined) ?? 0;
  return total;
}
