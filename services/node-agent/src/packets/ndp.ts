/** IPv6 Neighbor Discovery (RFC 4861): Neighbor Solicitations in, Advertisements out. */
import { addressText } from './address.js';

export const NEIGHBOR_SOLICITATION = 135;
export const NEIGHBOR_ADVERTISEMENT = 136;
const OPTION_SOURCE_LINK_LAYER = 1;
const OPTION_TARGET_LINK_LAYER = 2;
/** NDP messages come from the link itself: routers decrement, so anything less was forwarded. */
export const NDP_HOP_LIMIT = 255;
export const ALL_NODES = 'ff02::1';

export interface NeighborSolicitation {
  readonly type: 'solicitation';
  /** Hex of the 16 target bytes, as `WireAddress.key`. */
  readonly target: string;
  readonly sourceMac?: Buffer;
}

export interface NeighborAdvertisement {
  readonly type: 'advertisement';
  readonly target: string;
  readonly targetMac?: Buffer;
  readonly solicited: boolean;
  readonly override: boolean;
}

export type NdpMessage = NeighborSolicitation | NeighborAdvertisement;

/** The link-layer address option of `type`, or undefined; `false` when the options are malformed. */
function linkLayerOption(options: Buffer, type: number): Buffer | undefined | false {
  let found: Buffer | undefined;
  for (let at = 0; at < options.length;) {
    if (at + 2 > options.length) return false;
    const length = (options[at + 1] ?? 0) * 8;
    if (length === 0 || at + length > options.length) return false;
    if (options[at] === type && length >= 8) found = options.subarray(at + 2, at + 8);
    at += length;
  }
  return found;
}

/**
 * Reads an ICMPv6 message (no IPv6 header) received with `hopLimit`; undefined unless it is a
 * well-formed Neighbor Solicitation or Advertisement that never crossed a router.
 */
export function parseNdp(message: Buffer, hopLimit: number): NdpMessage | undefined {
  if (hopLimit !== NDP_HOP_LIMIT || message.length < 24 || message[1] !== 0) return undefined;
  const target = message.toString('hex', 8, 24);
  if (message[0] === NEIGHBOR_SOLICITATION) {
    const mac = linkLayerOption(message.subarray(24), OPTION_SOURCE_LINK_LAYER);
    if (mac === false) return undefined;
    return mac === undefined ? { type: 'solicitation', target } : { type: 'solicitation', target, sourceMac: mac };
  }
  if (message[0] === NEIGHBOR_ADVERTISEMENT) {
    const mac = linkLayerOption(message.subarray(24), OPTION_TARGET_LINK_LAYER);
    if (mac === false) return undefined;
    const flags = message[4] ?? 0;
    const common = {
      type: 'advertisement',
      target,
      solicited: (flags & 0x40) !== 0,
      override: (flags & 0x20) !== 0,
    } as const;
    return mac === undefined ? common : { ...common, targetMac: mac };
  }
  return undefined;
}

/**
 * A Neighbor Advertisement that `target` is at `mac`, with Override set; `solicited` for an answer,
 * unset for an unsolicited announcement to all nodes. The kernel fills in the checksum.
 */
export function neighborAdvertisement(target: Uint8Array, mac: Uint8Array, solicited: boolean): Buffer {
  const out = Buffer.alloc(32);
  out[0] = NEIGHBOR_ADVERTISEMENT;
  out[4] = (solicited ? 0x40 : 0) | 0x20;
  out.set(target, 8);
  out[24] = OPTION_TARGET_LINK_LAYER;
  out[25] = 1;
  out.set(mac, 26);
  return out;
}

/** The solicited-node multicast group (RFC 4291) that solicitations for `address` go to. */
export function solicitedNodeGroup(address: Uint8Array): string {
  const group = Buffer.from('ff0200000000000000000001ff000000', 'hex');
  group.set(address.subarray(13, 16), 13);
  return addressText(group);
}
