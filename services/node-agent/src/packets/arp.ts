/** ARP over Ethernet for IPv4 (RFC 826): just what answering and announcing a VIP needs. */

const ETHERTYPE_ARP = 0x0806;
const HEADER = 14;
/** Ethernet header plus an IPv4-over-Ethernet ARP body. */
const FRAME = HEADER + 28;
/** Short frames are padded to Ethernet's minimum (without the FCS). */
const MIN_FRAME = 60;
export const BROADCAST_MAC = Buffer.alloc(6, 0xff);
const ZERO_MAC = Buffer.alloc(6);

export type ArpOp = 'request' | 'reply';

export interface ArpPacket {
  readonly op: ArpOp;
  readonly senderMac: Buffer;
  /** Hex of the 4 address bytes, as `WireAddress.key`. */
  readonly senderIp: string;
  readonly targetMac: Buffer;
  readonly targetIp: string;
}

/** Reads an Ethernet frame; undefined for anything but an IPv4-over-Ethernet ARP request or reply. */
export function parseArp(frame: Buffer): ArpPacket | undefined {
  if (frame.length < FRAME || frame.readUInt16BE(12) !== ETHERTYPE_ARP) return undefined;
  const arp = frame.subarray(HEADER);
  if (arp.readUInt16BE(0) !== 1 || arp.readUInt16BE(2) !== 0x0800 || arp[4] !== 6 || arp[5] !== 4) return undefined;
  const code = arp.readUInt16BE(6);
  if (code !== 1 && code !== 2) return undefined;
  return {
    op: code === 1 ? 'request' : 'reply',
    senderMac: arp.subarray(8, 14),
    senderIp: arp.toString('hex', 14, 18),
    targetMac: arp.subarray(18, 24),
    targetIp: arp.toString('hex', 24, 28),
  };
}

/**
 * Someone announcing that `senderIp` is theirs: a gratuitous request or reply, or any reply.
 * (A request whose sender is the address it asks for is an announcement too.)
 */
export const isClaim = (packet: ArpPacket): boolean => packet.op === 'reply' || packet.senderIp === packet.targetIp;

interface FrameFields {
  readonly destination: Uint8Array;
  readonly source: Uint8Array;
  readonly op: ArpOp;
  readonly senderMac: Uint8Array;
  readonly senderIp: Uint8Array;
  readonly targetMac: Uint8Array;
  readonly targetIp: Uint8Array;
}

function frame(fields: FrameFields): Buffer {
  const out = Buffer.alloc(MIN_FRAME);
  out.set(fields.destination, 0);
  out.set(fields.source, 6);
  out.writeUInt16BE(ETHERTYPE_ARP, 12);
  out.writeUInt16BE(1, 14); // Ethernet
  out.writeUInt16BE(0x0800, 16); // IPv4
  out[18] = 6;
  out[19] = 4;
  out.writeUInt16BE(fields.op === 'request' ? 1 : 2, 20);
  out.set(fields.senderMac, 22);
  out.set(fields.senderIp, 28);
  out.set(fields.targetMac, 32);
  out.set(fields.targetIp, 38);
  return out;
}

/** The answer to `request` saying that `vip` is at `mac`, sent straight back to the asker. */
export function arpReply(mac: Uint8Array, vip: Uint8Array, request: ArpPacket): Buffer {
  return frame({
    destination: request.senderMac,
    source: mac,
    op: 'reply',
    senderMac: mac,
    senderIp: vip,
    targetMac: request.senderMac,
    targetIp: Buffer.from(request.senderIp, 'hex'),
  });
}

/**
 * A gratuitous ARP for `vip` at `mac`, broadcast: a request (target MAC zero) or a reply (target
 * MAC broadcast). Hosts and routers differ in which they heed, so a takeover sends both.
 */
export function gratuitousArp(mac: Uint8Array, vip: Uint8Array, op: ArpOp): Buffer {
  return frame({
    destination: BROADCAST_MAC,
    source: mac,
    op,
    senderMac: mac,
    senderIp: vip,
    targetMac: op === 'request' ? ZERO_MAC : BROADCAST_MAC,
    targetIp: vip,
  });
}
