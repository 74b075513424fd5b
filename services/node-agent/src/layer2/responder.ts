import type { Logger } from '@berth/runtime';
import { macText, type WireAddress } from '../packets/address.js';
import { arpReply, gratuitousArp, isClaim, parseArp } from '../packets/arp.js';
import { ALL_NODES, neighborAdvertisement, parseNdp, solicitedNodeGroup } from '../packets/ndp.js';
import type { NodeAgentMetrics } from '../metrics.js';
import type { Link, LinkHandler } from './link.js';

interface Answered {
  readonly vip: WireAddress;
  /** Interfaces to answer on; empty means every link. */
  readonly interfaces: readonly string[];
}

/** Another host announced a VIP we answer for. */
export type ClaimListener = (vip: string, mac: string, link: string) => void;

/**
 * Answers ARP requests and Neighbor Solicitations for the VIPs it is told to, on the links it
 * has, and nothing else; reports any other host announcing one of those VIPs. The VIP is never
 * added to an interface.
 */
export class Responder implements LinkHandler {
  readonly #links = new Map<string, Link>();
  readonly #answered = new Map<string, Answered>();
  /** Per link, the solicited-node groups joined and how many answered VIPs need each. */
  readonly #groups = new Map<string, Map<string, number>>();

  #onClaim: ClaimListener = () => undefined;

  constructor(
    private readonly metrics: NodeAgentMetrics,
    private readonly logger: Logger,
  ) {}

  /** Who is told when another host announces a VIP we answer for. */
  onClaim(listener: ClaimListener): void {
    this.#onClaim = listener;
  }

  get links(): ReadonlyMap<string, Link> {
    return this.#links;
  }

  addLink(link: Link): void {
    this.#links.set(link.name, link);
    this.#groups.set(link.name, new Map());
    for (const entry of this.#answered.values()) if (serves(entry, link.name)) this.#join(link, entry.vip);
  }

  removeLink(name: string): void {
    this.#links.get(name)?.close();
    this.#links.delete(name);
    this.#groups.delete(name);
  }

  /** Starts answering for `vip` on `interfaces` (empty: every link). */
  answer(vip: WireAddress, interfaces: readonly string[]): void {
    this.release(vip.key);
    const entry = { vip, interfaces };
    this.#answered.set(vip.key, entry);
    for (const link of this.#linksFor(entry)) this.#join(link, vip);
  }

  release(key: string): void {
    const entry = this.#answered.get(key);
    if (entry === undefined) return;
    this.#answered.delete(key);
    for (const link of this.#linksFor(entry)) this.#leave(link, entry.vip);
  }

  /** Tells every link the VIP is here: gratuitous ARP (request and reply) or an unsolicited NA. */
  announce(key: string): void {
    const entry = this.#answered.get(key);
    if (entry === undefined) return;
    const { vip } = entry;
    for (const link of this.#linksFor(entry)) {
      if (vip.family === 'IPv4') {
        this.#send(link, 'arp', 'gratuitous', () => link.arp.send(gratuitousArp(link.mac, vip.bytes, 'request')));
        this.#send(link, 'arp', 'gratuitous', () => link.arp.send(gratuitousArp(link.mac, vip.bytes, 'reply')));
      } else {
        const message = neighborAdvertisement(vip.bytes, link.mac, false);
        this.#send(link, 'ndp', 'gratuitous', () => link.ndp.send(message, ALL_NODES, vip.text));
      }
    }
  }

  arp(link: Link, frame: Buffer): void {
    const packet = parseArp(frame);
    if (packet === undefined || packet.senderMac.equals(link.mac)) return;
    if (isClaim(packet)) {
      const claimed = this.#answered.get(packet.senderIp);
      if (claimed !== undefined && serves(claimed, link.name)) this.#claim(claimed, packet.senderMac, link, 'arp');
      return;
    }
    const entry = this.#answered.get(packet.targetIp);
    if (entry === undefined || !serves(entry, link.name)) return;
    this.metrics.requestsReceived.inc({ protocol: 'arp', interface: link.name });
    this.#send(link, 'arp', 'response', () => link.arp.send(arpReply(link.mac, entry.vip.bytes, packet)));
  }

  ndp(link: Link, message: Buffer, source: string, hopLimit: number): void {
    const packet = parseNdp(message, hopLimit);
    if (packet === undefined) return;
    const entry = this.#answered.get(packet.target);
    if (entry === undefined || !serves(entry, link.name)) return;
    if (packet.type === 'advertisement') {
      if (packet.targetMac === undefined || !packet.targetMac.equals(link.mac))
        this.#claim(entry, packet.targetMac, link, 'ndp');
      return;
    }
    this.metrics.requestsReceived.inc({ protocol: 'ndp', interface: link.name });
    // A solicitation from the unspecified address is duplicate-address detection: answer to all.
    const dad = source === '::';
    const reply = neighborAdvertisement(entry.vip.bytes, link.mac, !dad);
    this.#send(link, 'ndp', 'response', () => link.ndp.send(reply, dad ? ALL_NODES : source, entry.vip.text));
  }

  close(): void {
    for (const name of [...this.#links.keys()]) this.removeLink(name);
    this.#answered.clear();
  }

  #claim(entry: Answered, mac: Buffer | undefined, link: Link, protocol: 'arp' | 'ndp'): void {
    this.metrics.claimsSeen.inc({ protocol, interface: link.name });
    this.#onClaim(entry.vip.text, mac === undefined ? 'unknown' : macText(mac), link.name);
  }

  #send(link: Link, protocol: 'arp' | 'ndp', kind: 'response' | 'gratuitous', send: () => void): void {
    const labels = { protocol, interface: link.name };
    try {
      send();
      (kind === 'response' ? this.metrics.responsesSent : this.metrics.gratuitousSent).inc(labels);
    } catch (error) {
      this.metrics.sendFailures.inc(labels);
      this.logger.warn({ err: error, interface: link.name, protocol }, `could not send ${kind}`);
    }
  }

  *#linksFor(entry: Answered): Iterable<Link> {
    for (const link of this.#links.values()) if (serves(entry, link.name)) yield link;
  }

  #join(link: Link, vip: WireAddress): void {
    if (vip.family !== 'IPv6') return;
    const groups = this.#groups.get(link.name);
    const group = solicitedNodeGroup(vip.bytes);
    const count = groups?.get(group) ?? 0;
    if (count === 0) {
      try {
        link.ndp.join(group);
      } catch (error) {
        this.logger.warn(
          { err: error, interface: link.name, group, vip: vip.text },
          'could not join solicited-node group',
        );
        return;
      }
    }
    groups?.set(group, count + 1);
  }

  #leave(link: Link, vip: WireAddress): void {
    if (vip.family !== 'IPv6') return;
    const groups = this.#groups.get(link.name);
    const group = solicitedNodeGroup(vip.bytes);
    const count = groups?.get(group) ?? 0;
    if (count > 1) groups?.set(group, count - 1);
    else if (count === 1) {
      groups?.delete(group);
      try {
        link.ndp.leave(group);
      } catch (error) {
        this.logger.debug({ err: error, interface: link.name, group }, 'could not leave solicited-node group');
      }
    }
  }
}

const serves = (entry: Answered, link: string): boolean =>
  entry.interfaces.length === 0 || entry.interfaces.includes(link);
