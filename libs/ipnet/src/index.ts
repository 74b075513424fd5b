import { quote, type IpFamily } from '@berth/contracts';
import { Address4, Address6 } from 'ip-address';

/** A contiguous run of addresses of one family, as numbers; `text` is how the operator wrote it. */
export interface AddressRange {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
  readonly text: string;
}

/** An address, a CIDR or a range that cannot be read; the message says which and why. */
export class AddressError extends Error {
  override readonly name = 'AddressError';
  readonly code = 'BERTH_ADDRESS_INVALID';
}

const BITS: Record<IpFamily, number> = { IPv4: 32, IPv6: 128 };

/** An address's family and numeric value. */
export function parseAddress(text: string): { family: IpFamily; value: bigint } {
  if (Address4.isValid(text) && !text.includes('/')) return { family: 'IPv4', value: new Address4(text).bigInt() };
  if (Address6.isValid(text) && !text.includes('/') && !text.includes('%')) {
    return { family: 'IPv6', value: new Address6(text).bigInt() };
  }
  throw new AddressError(`${quote(text)} is not an IPv4 or IPv6 address`);
}

/** The canonical text of an address (RFC 5952 for IPv6). */
export function formatAddress(family: IpFamily, value: bigint): string {
  return family === 'IPv4' ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm();
}

/** The canonical text of an address however it was written; throws `AddressError` when it is none. */
export function canonicalAddress(text: string): string {
  const { family, value } = parseAddress(text);
  return formatAddress(family, value);
}

/** Reads one IPPool entry: `192.0.2.0/24`, `192.0.2.10-192.0.2.20` or `192.0.2.7` (and IPv6). */
export function parseEntry(text: string): AddressRange {
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const { family, value } = parseAddress(text.slice(0, slash));
    const prefix = Number(text.slice(slash + 1));
    if (!/^\d{1,3}$/.test(text.slice(slash + 1)) || prefix > BITS[family]) {
      throw new AddressError(`${quote(text)} has a prefix length outside 0-${BITS[family]}`);
    }
    const hostBits = BigInt(BITS[family] - prefix);
    const first = (value >> hostBits) << hostBits;
    if (first !== value) throw new AddressError(`${quote(text)} has host bits set`);
    return { family, first, last: first + (1n << hostBits) - 1n, text };
  }
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const a = parseAddress(text.slice(0, dash).trim());
    const b = parseAddress(text.slice(dash + 1).trim());
    if (a.family !== b.family) throw new AddressError(`range ${quote(text)} mixes IPv4 and IPv6`);
    if (a.value > b.value) throw new AddressError(`range ${quote(text)} ends before it starts`);
    return { family: a.family, first: a.value, last: b.value, text };
  }
  const { family, value } = parseAddress(text);
  return { family, first: value, last: value, text };
}

export function rangeSize(range: AddressRange): bigint {
  return range.last - range.first + 1n;
}

export function rangesOverlap(a: AddressRange, b: AddressRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function rangeContains(range: AddressRange, family: IpFamily, value: bigint): boolean {
  return range.family === family && range.first <= value && value <= range.last;
}

/**
 * How many IPv4 addresses of a range end in .0 or .255, which `avoidBuggyIPs` skips (some old
 * clients treat them as network or broadcast addresses even inside larger prefixes).
 */
export function buggyCount(range: AddressRange): bigint {
  if (range.family !== 'IPv4') return 0n;
  // Numbers x in [first, last] with x mod 256 = r, for r = 0 and r = 255.
  const upTo = (n: bigint, r: bigint) => (n < r ? 0n : (n - r) / 256n + 1n);
  return [0n, 255n].reduce((sum, r) => sum + upTo(range.last, r) - upTo(range.first - 1n, r), 0n);
}

/** Addresses of one family in a pool: how many there are, how many are leased, how many are free. */
export interface FamilyUsage {
  readonly total: bigint;
  readonly inUse: number;
  readonly free: bigint;
}

/**
 * Usage per family of a pool's entries, given the addresses leased from it. An address counts
 * once however many Services share it, and only when inside the entries; with `avoidBuggyIPs`,
 * IPv4 addresses ending in .0 and .255 are not counted as available.
 */
export function poolUsage(
  entries: readonly string[],
  avoidBuggyIPs: boolean,
  leased: Iterable<string>,
): Partial<Record<IpFamily, FamilyUsage>> {
  const ranges = entries.map(parseEntry);
  const inUse: Record<IpFamily, Set<bigint>> = { IPv4: new Set(), IPv6: new Set() };
  for (const address of leased) {
    const { family, value } = parseAddress(address);
    if (ranges.some((r) => rangeContains(r, family, value))) inUse[family].add(value);
  }
  const usage: Partial<Record<IpFamily, FamilyUsage>> = {};
  for (const family of ['IPv4', 'IPv6'] as const) {
    const own = ranges.filter((r) => r.family === family);
    if (own.length === 0) continue;
    const skipped = avoidBuggyIPs ? own.reduce((n, r) => n + buggyCount(r), 0n) : 0n;
    const total = own.reduce((n, r) => n + rangeSize(r), 0n) - skipped;
    usage[family] = { total, inUse: inUse[family].size, free: total - BigInt(inUse[family].size) };
  }
  return usage;
}
