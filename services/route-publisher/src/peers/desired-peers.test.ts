import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BgpConfigSnapshot, BgpPeerSecretSnapshot, BgpPeerSnapshot } from '@berth/contracts';
import { desiredPeers, diffPeers } from './desired-peers.js';

const config: BgpConfigSnapshot = {
  v: 1,
  key: 'default',
  revision: '1',
  asn: 64512,
  listenPort: 179,
  topology: 'central',
  gracefulRestart: false,
};
const peer = (key: string, extra: Partial<BgpPeerSnapshot> = {}): BgpPeerSnapshot => ({
  v: 1,
  key,
  revision: '1',
  peerAddress: '192.0.2.254',
  peerASN: 65000,
  myASN: 64512,
  port: 179,
  holdTimeSeconds: 90,
  keepaliveTimeSeconds: 30,
  tcpMd5: false,
  families: ['IPv6', 'IPv4'],
  addPath: true,
  ...extra,
});
const none = new Map<string, BgpPeerSecretSnapshot>();

describe('desired peers', () => {
  it('a node speaker takes only the peers whose nodeSelector matches its node; ADD-PATH only centrally', () => {
    const peers = [
      peer('tor-a', { nodeSelector: { matchLabels: { rack: 'a' } } }),
      peer('tor-b', { peerAddress: '192.0.2.253', nodeSelector: { matchLabels: { rack: 'b' } } }),
    ];
    const onA = desiredPeers(peers, none, config, { topology: 'per-node', node: 'n1' }, { rack: 'a' });
    assert.deepEqual(
      onA.map((p) => [p.name, p.addPathSend]),
      [['tor-a', false]],
    );
    const central = desiredPeers(peers, none, config, { topology: 'central', name: 'c' }, undefined);
    assert.deepEqual(
      central.map((p) => [p.name, p.addPathSend, p.families.join()]),
      [
        ['tor-a', true, 'IPv4,IPv6'],
        ['tor-b', true, 'IPv4,IPv6'],
      ],
    );
  });

  it('two BGPPeers for one address: the first by name wins on every speaker', () => {
    const specs = desiredPeers([peer('z'), peer('a')], none, config, { topology: 'central', name: 'c' }, undefined);
    assert.deepEqual(
      specs.map((p) => p.name),
      ['a'],
    );
  });

  it('a peer signed with TCP-MD5 waits for its password, then carries it; a new password redoes the neighbor', () => {
    const central = { topology: 'central', name: 'c' } as const;
    const signed = [peer('tor', { tcpMd5: true })];
    assert.deepEqual(desiredPeers(signed, none, config, central, undefined), []);
    const secret = (password: string) => new Map([['tor', { v: 1 as const, key: 'tor', revision: '1', password }]]);
    const [first] = desiredPeers(signed, secret('one'), config, central, undefined);
    assert.equal(first?.password, 'one');
    // A password left over from when the peer was signed is not used once it no longer is.
    assert.equal(desiredPeers([peer('tor')], secret('one'), config, central, undefined)[0]?.password, undefined);
    const [second] = desiredPeers(signed, secret('two'), config, central, undefined);
    assert.ok(second !== undefined);
    assert.deepEqual(diffPeers([second], [first]).replace, [second]);
  });

  it('only changed neighbors are redone; unchanged ones are left alone', () => {
    const [a, b] = desiredPeers(
      [peer('a'), peer('b', { peerAddress: '192.0.2.253' })],
      none,
      config,
      { topology: 'central', name: 'c' },
      undefined,
    );
    assert.ok(a !== undefined && b !== undefined);
    const held = [a, { ...b, holdTimeSeconds: 9 }, { ...a, address: '192.0.2.9' }];
    const diff = diffPeers([a, b], held);
    assert.deepEqual(diff.add, []);
    assert.deepEqual(
      diff.replace.map((p) => p.name),
      ['b'],
    );
    assert.deepEqual(diff.remove, ['192.0.2.9']);
  });
});
