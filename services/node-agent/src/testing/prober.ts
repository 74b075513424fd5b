/**
 * A lab client that asks for addresses many times a second, for watching failovers: broadcast
 * ARP requests and multicast Neighbor Solicitations from the client's own addresses. What is
 * answered is read from a capture, not from here. Runs inside the client's namespace:
 *   node prober.js <interface> <interval ms> <duration ms> <batch> <source v4> <source v6> <ip>...
 * `batch` requests per address go out each interval. On exit it prints how many answers came
 * back to it (JSON), for throughput measurements. With BERTH_PROBER_ANSWERS=1 it also prints each
 * answer for one of the addresses as it comes, `{"at":ms,"ip":…,"mac":…}`, for watching who answers.
 */
import { rawsock } from '../rawsock/addon.js';
import { macText, wireAddress } from '../packets/address.js';
import { BROADCAST_MAC, parseArp } from '../packets/arp.js';
import { NEIGHBOR_SOLICITATION, parseNdp, solicitedNodeGroup } from '../packets/ndp.js';

const [name = 'eth0', interval = '50', duration = '10000', batch = '1', sourceV4 = '', sourceV6 = '', ...targets] =
  process.argv.slice(2);
const info = rawsock.interfaceInfo(name);
let sent = 0;
let answers = 0;
const each = process.env['BERTH_PROBER_ANSWERS'] === '1';
// The asked addresses by their wire bytes (hex), as the parsers give them.
const asked = new Map(targets.map((text) => [wireAddress(text).key, wireAddress(text).text]));
const answered = (key: string, mac: Buffer | undefined) => {
  answers++;
  const ip = asked.get(key);
  if (each && ip !== undefined && mac !== undefined)
    process.stdout.write(`${JSON.stringify({ at: Date.now(), ip, mac: macText(mac) })}\n`);
};
const arp = rawsock.openArp(name, (frame) => {
  const packet = parseArp(frame);
  if (packet?.op === 'reply') answered(packet.senderIp, packet.senderMac);
});
const ndp = rawsock.openIcmp6(name, (message, _source, hopLimit) => {
  const packet = parseNdp(message, hopLimit);
  if (packet?.type === 'advertisement') answered(packet.target, packet.targetMac);
});
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
const perTick = Number(batch);
const timer = setInterval(() => {
  for (let i = 0; i < perTick; i++)
    for (const send of sends) {
      try {
        send();
        sent++;
      } catch {
        // The socket buffer is full: an offered load above what the link takes.
      }
    }
}, Number(interval));
const finish = () => {
  clearInterval(timer);
  clearTimeout(deadline);
  // Let the last answers arrive.
  setTimeout(() => {
    arp.close();
    ndp.close();
    process.stdout.write(`${JSON.stringify({ sent, answers })}\n`, () => process.exit(0));
  }, 200);
};
const deadline = setTimeout(finish, Number(duration));
process.on('SIGTERM', finish);
process.stdout.write('probing\n');
