/** What tcpdump (`-nn -e -tt -l`) showed of ARP and NDP on a lab host, one entry per frame. */
export interface WireFrame {
  /** Seconds since the epoch, as tcpdump stamped it. */
  readonly t: number;
  /** The Ethernet source: who sent it. */
  readonly from: string;
  /** `garp`: any announcement to all (gratuitous ARP request or reply, unsolicited NA). */
  readonly kind: 'arp-request' | 'arp-reply' | 'garp' | 'ns' | 'na';
  /** The address asked about or announced. */
  readonly ip: string;
  /** The MAC the frame says the address is at (replies and announcements). */
  readonly mac?: string;
}

const HEADER =
  /^(\d+\.\d+) ([0-9a-f:]{17}) > ([0-9a-f:]{17}), ethertype (?:ARP|IPv6) \(0x[0-9a-f]+\), length \d+: (.*)$/;

/** Reads tcpdump's lines; lines about anything else are skipped. */
export function parseCapture(text: string): WireFrame[] {
  const frames: WireFrame[] = [];
  for (const line of text.split('\n')) {
    const header = HEADER.exec(line);
    if (header === null) continue;
    const [, time = '0', from = '', to = '', rest = ''] = header;
    const t = Number(time);
    let m: RegExpExecArray | null;
    if ((m = /^Reply (\S+) is-at ([0-9a-f:]{17})/.exec(rest)) !== null) {
      const [, ip = '', mac = ''] = m;
      frames.push({ t, from, kind: to === 'ff:ff:ff:ff:ff:ff' ? 'garp' : 'arp-reply', ip, mac });
    } else if ((m = /^Request who-has (\S+)(?: \(\S+\))? tell (\S+),/.exec(rest)) !== null) {
      const [, ip = '', sender = ''] = m;
      frames.push(ip === sender ? { t, from, kind: 'garp', ip, mac: from } : { t, from, kind: 'arp-request', ip });
    } else if ((m = /ICMP6, neighbor advertisement, tgt is (\S+),/.exec(rest)) !== null) {
      frames.push({ t, from, kind: to === '33:33:00:00:00:01' ? 'garp' : 'na', ip: m[1] ?? '', mac: from });
    } else if ((m = /ICMP6, neighbor solicitation, who has (\S+),/.exec(rest)) !== null) {
      frames.push({ t, from, kind: 'ns', ip: m[1] ?? '' });
    }
  }
  return frames;
}

/** A reply later than this after its request no longer counts as its answer. */
const ANSWER_WITHIN_S = 1;

/**
 * For each request the client broadcast for `ip`, the MACs that answered it: more than one means
 * two nodes answered at once. A reply answers the newest earlier request its sender has not
 * answered yet, so a burst of requests (a loaded prober catching up) answered by as many replies
 * counts every request answered, and a reply that comes after the next request still counts for
 * its own. Announcements are not answers.
 */
export function answersPerRequest(frames: readonly WireFrame[], ip: string, client: string): string[][] {
  const requests: { t: number; macs: Set<string> }[] = [];
  for (const frame of frames) {
    if (frame.ip !== ip) continue;
    if (frame.from === client && (frame.kind === 'arp-request' || frame.kind === 'ns'))
      requests.push({ t: frame.t, macs: new Set() });
    else if ((frame.kind === 'arp-reply' || frame.kind === 'na') && frame.mac !== undefined) {
      const mac = frame.mac;
      const open = requests.findLast((r) => !r.macs.has(mac));
      if (open !== undefined && frame.t - open.t <= ANSWER_WITHIN_S) open.macs.add(mac);
    }
  }
  return requests.map((r) => [...r.macs].sort());
}
