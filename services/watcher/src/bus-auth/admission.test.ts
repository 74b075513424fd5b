import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admitNodeAgent, tokenExpiry, type TokenReviewStatus } from './admission.js';

const policy = { namespace: 'berth-system', serviceAccount: 'berth-node-agent', audience: 'berth-nats' };
const agentOn = (node: string): TokenReviewStatus => ({
  authenticated: true,
  audiences: ['berth-nats'],
  user: {
    username: 'system:serviceaccount:berth-system:berth-node-agent',
    extra: {
      'authentication.kubernetes.io/node-name': [node],
      'authentication.kubernetes.io/pod-name': [`berth-node-agent-${node}`],
    },
  },
});

describe('bus-auth - which tokens speak for a node', () => {
  it('a node-agent’s projected token speaks for the node its pod runs on', () => {
    assert.deepEqual(admitNodeAgent(agentOn('node-1'), policy), {
      admitted: true,
      node: 'node-1',
      pod: 'berth-node-agent-node-1',
    });
  });

  const refused: [string, TokenReviewStatus, RegExp][] = [
    ['a token the API server refused', { authenticated: false, error: 'token has expired' }, /did not accept.*expired/],
    [
      'a token for the API server',
      { ...agentOn('n'), audiences: ['https://kubernetes.default.svc'] },
      /not for berth-nats/,
    ],
    [
      'another ServiceAccount’s token',
      { ...agentOn('n'), user: { ...agentOn('n').user, username: 'system:serviceaccount:shop:web' } },
      /shop:web's, not system:serviceaccount:berth-system:berth-node-agent's/,
    ],
    [
      'the node-agent’s ServiceAccount in another namespace',
      { ...agentOn('n'), user: { ...agentOn('n').user, username: 'system:serviceaccount:other:berth-node-agent' } },
      /not system:serviceaccount:berth-system/,
    ],
    [
      'a token not bound to a pod',
      { ...agentOn('n'), user: { username: agentOn('n').user?.username ?? '' } },
      /not bound to a pod/,
    ],
  ];
  for (const [what, status, reason] of refused)
    it(`refuses ${what}`, () => {
      const admission = admitNodeAgent(status, policy);
      assert.ok(!admission.admitted);
      assert.match(admission.reason, reason);
    });
});

describe('bus-auth - a token’s expiry', () => {
  const jwt = (claims: unknown) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
  it('reads exp, and nothing from a token that has none or is no JWT', () => {
    assert.equal(tokenExpiry(jwt({ exp: 1893456000, sub: 'x' })), 1893456000);
    assert.equal(tokenExpiry(jwt({ sub: 'x' })), undefined);
    assert.equal(tokenExpiry(jwt({ exp: 'soon' })), undefined);
    assert.equal(tokenExpiry('opaque-token'), undefined);
    assert.equal(tokenExpiry('a.!!!.c'), undefined);
  });
});
