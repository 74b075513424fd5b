import type { IpFamily } from '@berth/contracts';
import { formatAddress, parseAddress } from '@berth/ipnet';

/** An IP address as it travels in packets; `key` (hex of the bytes) is what lookups use. */
export interface WireAddress {
  readonly family: IpFamily;
  readonly text: string;
  readonly bytes: Buffer;
  readonly key: string;
}

/** Reads an address in any textual form; throws `AddressError` naming it when it is not one. */
export function wireAddress(text: string): WireAddress {
  const { family, value } = parseAddress(text);
  const bytes = Buffer.from(value.toString(16).padStart(family === 'IPv4' ? 8 : 32, '0'), 'hex');
  return { family, text: formatAddress(family, value), bytes, key: bytes.toString('hex') };
}

/** The canonical text of 4 or 16 address bytes. */
export function addressText(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return formatAddress(bytes.length === 4 ? 'IPv4' : 'IPv6', BigInt(`0x${hex}`));
}

/** `aa:bb:cc:dd:ee:ff`. */
export const macText = (mac: Uint8Array): string =>
  Buffer.from(mac)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1:');
