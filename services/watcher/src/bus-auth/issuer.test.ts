import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { createAccount } from '@nats-io/nkeys';
import fc from 'fast-check';
import { accountSeed, issuerFromSecret, issuerSecretData } from './issuer.js';

describe('bus-auth - the issuer key', () => {
  it('turns any 32 bytes into the account key whose Ed25519 seed they are (checked by node:crypto)', () => {
    // PKCS #8 wrapping of a raw Ed25519 seed, so node:crypto can sign with the same key.
    const pkcs8 = Buffer.from('302e020100300506032b657004220420', 'hex');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array(), (raw, message) => {
        const key = issuerFromSecret(accountSeed(raw));
        assert.match(key.getPublicKey(), /^A[A-Z2-7]{55}$/);
        const ours = createPrivateKey({ key: Buffer.concat([pkcs8, raw]), format: 'der', type: 'pkcs8' });
        assert.ok(verify(null, message, createPublicKey(ours), key.sign(message)));
      }),
    );
  });

  it('reads the NKeys library’s own account seeds', () => {
    const account = createAccount();
    const read = issuerFromSecret(new TextDecoder().decode(account.getSeed()));
    assert.equal(read.getPublicKey(), account.getPublicKey());
  });

  it('reads a base64 secret of 32 bytes and an SA seed alike, and refuses anything else', () => {
    const raw = Buffer.alloc(32, 7);
    const fromBytes = issuerFromSecret(`${raw.toString('base64')}\n`);
    assert.equal(issuerFromSecret(accountSeed(raw)).getPublicKey(), fromBytes.getPublicKey());
    assert.throws(() => issuerFromSecret(Buffer.alloc(16).toString('base64')), /32 bytes in base64, not 16 bytes/);
  });
});

describe('bus-auth - the issuer Secret', () => {
  const seed = Buffer.alloc(32, 3).toString('base64');
  const issuer = issuerFromSecret(seed).getPublicKey();
  it('is made with a new seed and its public key when missing, and keeps a seed once made', () => {
    assert.deepEqual(
      issuerSecretData(undefined, () => seed),
      { seed, issuer },
    );
    assert.equal(
      issuerSecretData({ seed, issuer }, () => 'never'),
      undefined,
      'right already: left alone',
    );
    assert.deepEqual(
      issuerSecretData({ seed }, () => 'never'),
      { seed, issuer },
      'the public key added',
    );
    assert.deepEqual(
      issuerSecretData({ seed, issuer: 'Aother' }, () => 'never'),
      { seed, issuer },
      'and corrected',
    );
  });
});
