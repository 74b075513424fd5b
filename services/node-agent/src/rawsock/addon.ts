import { createRequire } from 'node:module';

/** An interface as the kernel reports it. */
export interface InterfaceInfo {
  readonly index: number;
  readonly mac: Buffer;
  /** Its hardware type is Ethernet, so ARP and NDP run on it. */
  readonly ethernet: boolean;
  readonly up: boolean;
  readonly running: boolean;
}

/** Whole ARP frames on one interface (AF_PACKET); frames this host sends are not delivered. */
export interface ArpSocket {
  send(frame: Buffer): void;
  close(): void;
}

/** Neighbor Solicitations and Advertisements on one interface (raw ICMPv6, hop limit 255 out). */
export interface Icmp6Socket {
  /** Sends from `source` (which need not be an address of this host) to `destination`. */
  send(message: Buffer, destination: string, source: string): void;
  join(group: string): void;
  leave(group: string): void;
  close(): void;
}

interface Addon {
  interfaceInfo(name: string): InterfaceInfo;
  ArpSocket: new (name: string, onFrame: (frame: Buffer) => void) => ArpSocket;
  Icmp6Socket: new (
    name: string,
    onMessage: (message: Buffer, source: string, hopLimit: number) => void,
  ) => Icmp6Socket;
}

/** The addon failed to load, or a socket failed to open; `code` is EPERM without CAP_NET_RAW. */
export class RawSocketError extends Error {
  override readonly name = 'RawSocketError';
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

let loaded: Addon | undefined;

function addon(): Addon {
  if (loaded !== undefined) return loaded;
  try {
    loaded = createRequire(import.meta.url)('../../build/Release/rawsock.node') as Addon;
    return loaded;
  } catch (error) {
    throw new RawSocketError(
      'the raw-socket addon is not built: run `npm install` (it builds services/node-agent with node-gyp; needs make and g++)',
      'ADDON_MISSING',
      { cause: error },
    );
  }
}

function wrap<T>(what: string, open: () => T): T {
  try {
    return open();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const hint = code === 'EPERM' ? ' (the process needs CAP_NET_RAW)' : '';
    throw new RawSocketError(
      `${what}: ${(error as Error).message}${hint}`,
      typeof code === 'string' ? code : 'ESOCKET',
      {
        cause: error,
      },
    );
  }
}

/** The raw sockets node-agent answers with; the only code that reaches the native addon. */
export const rawsock = {
  interfaceInfo: (name: string): InterfaceInfo => wrap(`interface ${name}`, () => addon().interfaceInfo(name)),
  openArp: (name: string, onFrame: (frame: Buffer) => void): ArpSocket =>
    wrap(`ARP socket on ${name}`, () => new (addon().ArpSocket)(name, onFrame)),
  openIcmp6: (name: string, onMessage: (message: Buffer, source: string, hopLimit: number) => void): Icmp6Socket =>
    wrap(`ICMPv6 socket on ${name}`, () => new (addon().Icmp6Socket)(name, onMessage)),
};
