/**
 * A lab client that asks for addresses many times a second, for watching failovers: broadcast
 * ARP requests and multicast Neighbor Solicitations from the client's own addresses. What is
 * answered is read from a capture, not from here. Runs inside the client's namespace:
 *   node prober.js <interface> <interval ms> <duration ms> <source v4> <source v6> <ip>...
 */
import { rawsock } from '../rawsock/addon.js';
import { wireAddress } from '../packets/address.js';
import { BROADCAST_MAC } from '../packets/arp.js';
import { NEIGHBOR_SOLICITATION, solicitedNodeGroup } from '../packets/ndp.js';

const [name = 'eth0', interval = '50', duration = '10000', sourceV4 = '', sourceV6 = '', ...targets] =
  process.argv.slice(2);
const info = rawsock.interfaceInfo(name);
const arp = rawsock.openArp(name, () => undefined);
const ndp = rawsock.openIcmp6(name, () => undefined);
const from4 = wireAddress(sourceV4);

function arpRequest(target: Buffer): Buffer {
  const frame = Buffer.alloc(60);
  BROADCAST_MAC.copy(frame, 0);
  info.mac.copy(frame, 6);
  frame.writeUInt16BE(0x0806, 12);
  frame.writeUInt16BE(1, 14);
  frame.writeUInt16BE(0x0800, 16);
  frame[18] = 6;
  frame[19] = 4;
  frame.writeUInt16BE(1, 20);
  info.mac.copy(frame, 22);
  from4.bytes.copy(frame, 28);
  target.copy(frame, 38);
  return frame;
}

function solicitation(target: Buffer): Buffer {
  const message = Buffer.alloc(32);
  message[0] = NEIGHBOR_SOLICITATION;
  target.copy(message, 8);
  message[24] = 1; // source link-layer address
  message[25] = 1;
  info.mac.copy(message, 26);
  return message;
}

const sends = targets.map((text) => {
  const target = wireAddress(text);
  if (target.family === 'IPv4') {
    const frame = arpRequest(target.bytes);
    return () => arp.send(frame);
  }
  const message = solicitation(target.bytes);
  const group = solicitedNodeGroup(target.bytes);
  return () => ndp.send(message, group, sourceV6);
});
const timer = setInterval(() => {
  for (const send of sends) send();
}, Number(interval));
setTimeout(() => {
  clearInterval(timer);
  arp.close();
  ndp.close();
}, Number(duration));
process.stdout.write('probing\n');
