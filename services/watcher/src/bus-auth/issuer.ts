import { fromSeed, type KeyPair } from '@nats-io/nkeys';

/**
 * The account key that signs the users bus-auth vouches for; nats-server trusts its public half
 * (`auth_callout.issuer`). Read from a Secret holding either an NKey seed (`SA…`) or 32 random
 * bytes in base64, which is what Helm can make (`randBytes 32`): those become the seed.
 */
export function issuerFromSecret(text: string): KeyPair {
  const value = text.trim();
  if (value.startsWith('SA')) return fromSeed(new TextEncoder().encode(value));
  const raw = Buffer.from(value, 'base64');
  if (raw.length !== 32)
    throw new Error(
      `the issuer secret must be an account NKey seed (SA…) or 32 bytes in base64, not ${raw.length} bytes`,
    );
  return fromSeed(new TextEncoder().encode(accountSeed(raw)));
}

/** Account NKeys' seed prefix bytes: "S" (18 << 3) for a seed, then "A" (0) for an account. */
const SEED_PREFIX = [18 << 3, 0] as const;

/** The NKey seed text of an account whose Ed25519 seed is `raw`: base32 of prefix, seed and CRC-16. */
export function accountSeed(raw: Uint8Array): string {
  const body = Uint8Array.from([...SEED_PREFIX, ...raw]);
  const crc = crc16(body);
  return base32(Uint8Array.from([...body, crc & 0xff, crc >> 8]));
}

/** CRC-16/XMODEM, NKeys' checksum. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, as NKeys write it. */
function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET.charAt((buffer >> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET.charAt((buffer << (5 - bits)) & 31);
  return out;
}

/** The issuer Secret's data as bus-auth and the NATS servers read it: the seed, and its public key. */
export interface IssuerSecretData {
  readonly seed: string;
  readonly issuer: string;
}

/**
 * What the issuer Secret must hold, from what it holds (`existing`, decoded; undefined: no Secret):
 * a seed kept once made, and the public key that matches it. Undefined when it is right already.
 */
export function issuerSecretData(
  existing: Readonly<Record<string, string>> | undefined,
  newSeed: () => string,
): IssuerSecretData | undefined {
  const seed = existing?.['seed'] ?? newSeed();
  const issuer = issuerFromSecret(seed).getPublicKey();
  if (existing?.['seed'] === seed && existing['issuer'] === issuer) return undefined;
  return { seed, issuer };
}
