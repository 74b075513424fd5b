import dns from 'node:dns';
import { isIP } from 'node:net';

/** How long one DNS question may take, and how often it is asked, before the last answer serves. */
const DNS_TIMEOUT_MS = 500;
const DNS_TRIES = 2;

/** Asks DNS for a name's addresses; rejects when it cannot say. */
export type LookupFn = (name: string) => Promise<string[]>;

/**
 * The addresses of the NATS servers' names, as nats.js asks for them before each connection
 * attempt. Cluster DNS can be what a lost node took with it (its CoreDNS pod), and nats.js's own
 * resolver then waits about 27 s per name: a client whose server died would stay off the bus that
 * long, its view frozen. Here a question gets a short timeout and, when DNS cannot answer, the
 * last answer for that name serves: the other servers' pods kept their addresses.
 */
export class ServerAddresses {
  readonly #known = new Map<string, readonly string[]>();

  constructor(private readonly lookup: LookupFn = askDns) {}

  /**
   * Asks DNS for every server's name now, while it answers: a client that later loses its server
   * with DNS down then knows where the others are, not only the one it was connected to.
   */
  async learn(servers: readonly string[]): Promise<void> {
    await Promise.all(servers.map((server) => this.resolve(hostOf(server))));
  }

  /** The name's addresses; the name itself when DNS never answered (the system's resolver tries then). */
  async resolve(name: string): Promise<string[]> {
    if (isIP(name) !== 0) return [name];
    try {
      const addresses = await this.lookup(name);
      if (addresses.length > 0) {
        this.#known.set(name, addresses);
        return addresses;
      }
    } catch {
      // DNS unreachable or the name unknown right now: what it said last still holds.
    }
    return [...(this.#known.get(name) ?? [name])];
  }
}

/** The host of a server URL as nats.js takes them: `tls://name:4222`, `name:4222`, `[::1]:4222`. */
export function hostOf(server: string): string {
  const url = new URL(server.includes('://') ? server : `nats://${server}`);
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** A and AAAA records, asked of this process's DNS servers with a short timeout. */
async function askDns(name: string): Promise<string[]> {
  const resolver = new dns.promises.Resolver({ timeout: DNS_TIMEOUT_MS, tries: DNS_TRIES });
  // Read at each question (not a destructured getServers, which keeps the first resolver's list).
  resolver.setServers(dns.getServers());
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  if (addresses.length === 0 && v4.status === 'rejected') throw v4.reason;
  return addresses;
}
