import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
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

describe('bus-auth - ensure-issuer, the Helm hook', () => {
  const hook = fileURLToPath(new URL('../bus-auth.js', import.meta.url));
  const runHook = (env: Record<string, string>) =>
    spawnSync(process.execPath, [hook, 'ensure-issuer'], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });

  it('says which setting is missing in one log line, and exits 2', () => {
    const result = runHook({ BERTH_NAMESPACE: 'berth-system' });
    assert.equal(result.status, 2);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 1, result.stdout + result.stderr);
    const line = JSON.parse(lines[0] ?? '') as { level: string; problems: string[] };
    assert.equal(line.level, 'fatal');
    assert.match(line.problems.join(), /BERTH_BUS_AUTH_ISSUER_SECRET is required/);
    assert.equal(result.stderr, '', 'no stack trace');
  });

  it('says which Secret it could not make when the API server cannot be reached, and exits 1', () => {
    const result = runHook({ BERTH_BUS_AUTH_ISSUER_SECRET: 'issuer', BERTH_KUBECONFIG: '/dev/null' });
    assert.equal(result.status, 1);
    const line = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '') as { msg: string; secret: string };
    assert.deepEqual([line.msg, line.secret], ['could not make the issuer Secret', 'issuer']);
  });
});
