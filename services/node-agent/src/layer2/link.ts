import { rawsock, type ArpSocket, type Icmp6Socket } from '../rawsock/addon.js';

/** What arrives on a link, for the responder. */
export interface LinkHandler {
  arp(link: Link, frame: Buffer): void;
  ndp(link: Link, message: Buffer, source: string, hopLimit: number): void;
}

/** One interface this node answers on: its MAC and its two raw sockets. */
export interface Link {
  readonly name: string;
  readonly mac: Buffer;
  readonly arp: Pick<ArpSocket, 'send'>;
  readonly ndp: Pick<Icmp6Socket, 'send' | 'join' | 'leave'>;
  /** Up and carrier present (read from the kernel each time). */
  usable(): boolean;
  close(): void;
}

/** Opens both raw sockets on `name`; throws `RawSocketError` saying what is missing. */
export function openLink(name: string, handler: LinkHandler): Link {
  const info = rawsock.interfaceInfo(name);
  // Packets can only arrive on a later turn of the loop, by when `opened.link` is set.
  const opened: { link?: Link } = {};
  const arp = rawsock.openArp(name, (frame) => {
    if (opened.link) handler.arp(opened.link, frame);
  });
  const ndp = closingOnError(arp, () =>
    rawsock.openIcmp6(name, (message, source, hopLimit) => {
      if (opened.link) handler.ndp(opened.link, message, source, hopLimit);
    }),
  );
  opened.link = {
    name,
    mac: info.mac,
    arp,
    ndp,
    usable() {
      try {
        const now = rawsock.interfaceInfo(name);
        return now.up && now.running && now.mac.equals(info.mac);
      } catch {
        return false;
      }
    },
    close() {
      arp.close();
      ndp.close();
    },
  };
  return opened.link;
}

function closingOnError<T>(opened: { close(): void }, open: () => T): T {
  try {
    return open();
  } catch (error) {
    opened.close();
    throw error;
  }
}

/** Interface names worth answering on: Ethernet, not loopback, not a pod's or a tunnel's. */
export function candidateInterfaces(names: Iterable<string>, include: readonly string[], exclude: RegExp): string[] {
  const out: string[] = [];
  for (const name of names) {
    if (include.length > 0 ? !include.includes(name) : exclude.test(name)) continue;
    try {
      if (rawsock.interfaceInfo(name).ethernet) out.push(name);
    } catch {
      // Gone between listing and looking: skip it.
    }
  }
  return out.sort();
}
