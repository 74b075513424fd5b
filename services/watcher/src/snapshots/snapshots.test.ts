import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BgpPeerSnapshot, EndpointsSnapshot, ServiceSnapshot, validator } from '@berth/contracts';
import { bgpConfigSnapshot, bgpPeerSnapshot, poolSnapshot } from './berth-objects.js';
import { durationSeconds } from './duration.js';
import { endpointsSnapshot, sliceServiceKey } from './endpoints.js';
import { nodeSnapshot } from './node.js';
import type { EndpointSliceObject, ServiceObject } from './objects.js';
import { serviceSnapshot } from './service.js';

const policy = { className: 'berth.dev/lb', isDefault: false };
const meta = (name: string, extra: object = {}) => ({
  name,
  namespace: 'shop',
  uid: `uid-${name}`,
  resourceVersion: '7',
  ...extra,
});
const lb = (spec: object = {}, extra: object = {}): ServiceObject => ({
  metadata: meta('web', extra),
  spec: {
    type: 'LoadBalancer',
    loadBalancerClass: 'berth.dev/lb',
    ipFamilies: ['IPv4'],
    ports: [{ port: 80 }],
    ...spec,
  },
});

describe('snapshots - Services', () => {
  const cases: { desc: string; service: ServiceObject; isDefault?: boolean; ours: boolean }[] = [
    { desc: 'our class', service: lb(), ours: true },
    { desc: 'another class', service: lb({ loadBalancerClass: 'metallb.io/x' }), ours: false },
    { desc: 'no class, Berth not the default', service: lb({ loadBalancerClass: undefined }), ours: false },
    { desc: 'no class, Berth the default', service: lb({ loadBalancerClass: undefined }), isDefault: true, ours: true },
    {
      desc: 'another class, Berth the default',
      service: lb({ loadBalancerClass: 'other' }),
      isDefault: true,
      ours: false,
    },
    { desc: 'a ClusterIP Service', service: lb({ type: 'ClusterIP' }), ours: false },
  ];
  for (const { desc, service, isDefault = false, ours } of cases) {
    it(`${ours ? 'takes' : 'ignores'} ${desc}`, () => {
      assert.equal(serviceSnapshot(service, { ...policy, isDefault }) !== undefined, ours);
    });
  }

  it('keeps only the annotations Berth reads, the ingress IPs, and the deletion mark', () => {
    const snapshot = serviceSnapshot(
      {
        ...lb(
          { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack', externalTrafficPolicy: 'Local' },
          {
            annotations: {
              'berth.dev/pool': 'public',
              'metallb.io/allow-shared-ip': 'k',
              'eip.openelb.kubesphere.io/v1alpha1': '203.0.113.10',
              'kubectl.kubernetes.io/last-applied-configuration': '{}',
            },
            deletionTimestamp: '2026-11-22T02:00:00Z',
          },
        ),
        status: {
          loadBalancer: { ingress: [{ ip: '203.0.113.10' }, { hostname: 'lb.example' }, { ip: '2001:db8::10' }] },
        },
      },
      policy,
    );
    const { revision, ...content } = snapshot ?? {};
    assert.match(String(revision), /^[\w-]{16}$/);
    assert.deepEqual(content, {
      v: 1,
      key: 'shop/web',
      uid: 'uid-web',
      namespace: 'shop',
      name: 'web',
      labels: {},
      annotations: {
        'berth.dev/pool': 'public',
        'metallb.io/allow-shared-ip': 'k',
        'eip.openelb.kubesphere.io/v1alpha1': '203.0.113.10',
      },
      ipFamilies: ['IPv4', 'IPv6'],
      ipFamilyPolicy: 'RequireDualStack',
      externalTrafficPolicy: 'Local',
      ports: [{ protocol: 'TCP', port: 80 }],
      ingress: ['203.0.113.10', '2001:db8::10'],
      deleting: true,
    });
  });

  it('keeps its revision across changes Berth does not publish, and changes it with content', () => {
    const base = serviceSnapshot(lb(), policy);
    const bumped = serviceSnapshot(
      lb({}, { resourceVersion: '99', finalizers: ['service.kubernetes.io/load-balancer-cleanup'] }),
      policy,
    );
    const moved = serviceSnapshot(lb({ externalTrafficPolicy: 'Local' }), policy);
    assert.equal(bumped?.revision, base?.revision);
    assert.notEqual(moved?.revision, base?.revision);
  });

  it('always produces a snapshot that passes the bus contract', () => {
    const check = validator(ServiceSnapshot);
    const name = fc.stringMatching(/^[a-z]([-a-z0-9]{0,20}[a-z0-9])?$/);
    fc.assert(
      fc.property(
        name,
        name,
        fc.constantFrom(undefined, 'SingleStack', 'PreferDualStack', 'RequireDualStack', 'Bogus'),
        fc.constantFrom(undefined, 'Cluster', 'Local'),
        fc.array(
          fc.record({
            protocol: fc.constantFrom(undefined, 'TCP', 'UDP', 'SCTP'),
            port: fc.integer({ min: 1, max: 65535 }),
          }),
          { maxLength: 4 },
        ),
        fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('berth.dev/pool', 'berth.dev/ips', 'other/x'), fc.string()),
        (ns, svc, familyPolicy, etp, ports, ingress, annotations) => {
          const service: ServiceObject = {
            metadata: { name: svc, namespace: ns, uid: 'u', resourceVersion: '1', annotations },
            spec: {
              type: 'LoadBalancer',
              loadBalancerClass: 'berth.dev/lb',
              ipFamilyPolicy: familyPolicy ?? '',
              externalTrafficPolicy: etp ?? '',
              ports,
            },
            status: { loadBalancer: { ingress: ingress.map((ip) => ({ ip })) } },
          };
          const result = check.check(serviceSnapshot(service, policy));
          assert.ok(result.ok, JSON.stringify(result));
        },
      ),
    );
  });
});

const slice = (name: string, rv: string, endpoints: EndpointSliceObject['endpoints']): EndpointSliceObject => ({
  metadata: { ...meta(name), resourceVersion: rv, labels: { 'kubernetes.io/service-name': 'web' } },
  endpoints,
});

describe('snapshots - EndpointSlices', () => {
  it('folds ready endpoints per node across slices; unset ready counts as ready', () => {
    const snapshot = endpointsSnapshot('shop/web', [
      slice('a', '1', [
        { nodeName: 'n1', conditions: { ready: true } },
        { nodeName: 'n2', conditions: {} },
        { nodeName: 'n3', conditions: { ready: false } },
      ]),
      slice('b', '4', [{ nodeName: 'n1' }, { conditions: { ready: true } }]),
    ]);
    assert.deepEqual(snapshot.readyByNode, { n1: 2, n2: 1 });
    assert.equal(sliceServiceKey(slice('a', '1', [])), 'shop/web');
    assert.equal(validator(EndpointsSnapshot).check(snapshot).ok, true);
  });

  it('does not depend on the order of slices; its revision follows the ready counts only', () => {
    const endpoint = fc.record({
      nodeName: fc.constantFrom('n1', 'n2', 'n3'),
      conditions: fc.record({ ready: fc.boolean() }),
    });
    const slices = fc.uniqueArray(
      fc.record({
        name: fc.stringMatching(/^s[0-9]{1,3}$/),
        rv: fc.nat().map(String),
        endpoints: fc.array(endpoint, { maxLength: 5 }),
      }),
      {
        selector: (s) => s.name,
        maxLength: 6,
      },
    );
    fc.assert(
      fc.property(slices, fc.integer(), (specs, seed) => {
        const objects = specs.map((s) => slice(s.name, s.rv, s.endpoints));
        const shuffled = [...objects].sort(() => (seed % 3) - 1);
        const a = endpointsSnapshot('shop/web', objects);
        assert.deepEqual(endpointsSnapshot('shop/web', shuffled), a);
        const ready = specs.flatMap((s) => s.endpoints).filter((e) => e.conditions.ready).length;
        assert.equal(
          Object.values(a.readyByNode).reduce((x, y) => x + y, 0),
          ready,
        );
        if (objects[0] !== undefined) {
          const bumped = [
            { ...objects[0], metadata: { ...objects[0].metadata, resourceVersion: 'x' } },
            ...objects.slice(1),
          ];
          assert.equal(endpointsSnapshot('shop/web', bumped).revision, a.revision);
          const extra = slice('extra', '1', [{ nodeName: 'n9', conditions: { ready: true } }]);
          assert.notEqual(endpointsSnapshot('shop/web', [...objects, extra]).revision, a.revision);
        }
      }),
    );
  });
});

describe('snapshots - Nodes and Berth resources', () => {
  it('reads node readiness, usable addresses and the exclusion label', () => {
    const snapshot = nodeSnapshot({
      metadata: {
        name: 'n1',
        uid: 'u',
        resourceVersion: '3',
        labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' },
      },
      status: {
        addresses: [
          { type: 'InternalIP', address: '192.0.2.11' },
          { type: 'Hostname', address: 'n1' },
          { type: 'InternalIP', address: '2001:db8::11' },
        ],
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    });
    assert.deepEqual(
      snapshot.addresses.map((a) => a.address),
      ['192.0.2.11', '2001:db8::11'],
    );
    assert.equal(snapshot.ready, true);
    assert.equal(snapshot.excludedFromLoadBalancers, true);
  });

  it('parses Go durations', () => {
    assert.deepEqual(['90s', '1m30s', '1.5h', '250ms', '9', 'abc', ''].map(durationSeconds), [
      90,
      90,
      5400,
      0.25,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('resolves a peer password from its Secret, defaults myASN, and says what is missing', () => {
    const peer = {
      metadata: { name: 'tor', uid: 'u', resourceVersion: '2' },
      spec: { peerAddress: '192.0.2.254', peerASN: 65000, holdTime: '9s', passwordSecretRef: { name: 'bgp' } },
    };
    const secrets = new Map([
      [
        'bgp',
        {
          metadata: { name: 'bgp', uid: 's', resourceVersion: '1' },
          data: { password: Buffer.from('s3cret').toString('base64') },
        },
      ],
    ]);
    const result = bgpPeerSnapshot(peer, secrets, 64512);
    assert.ok(result.ok);
    assert.deepEqual(
      {
        myASN: result.snapshot.myASN,
        tcpMd5: result.snapshot.tcpMd5,
        secret: result.secret?.password,
        hold: result.snapshot.holdTimeSeconds,
        keepalive: result.snapshot.keepaliveTimeSeconds,
      },
      { myASN: 64512, tcpMd5: true, secret: 's3cret', hold: 9, keepalive: 3 },
    );
    // The password is in its own snapshot only, so an identity that reads peers never sees it.
    assert.doesNotMatch(JSON.stringify(result.snapshot), /s3cret/);
    assert.deepEqual(bgpPeerSnapshot(peer, new Map(), 64512), {
      ok: false,
      problem: 'password Secret bgp has no key password',
    });
    assert.deepEqual(
      bgpPeerSnapshot({ ...peer, spec: { ...peer.spec, passwordSecretRef: undefined } } as never, secrets, undefined),
      {
        ok: false,
        problem: 'no myASN and no BGPConfig default with an asn',
      },
    );
  });

  it('turns every hold time the CRD accepts, 0 s included, into a snapshot the bus accepts', () => {
    const check = validator(BgpPeerSnapshot);
    const cases = [
      ['0s', undefined, [0, 0]],
      ['3s', undefined, [3, 1]],
      ['90s', '10s', [90, 10]],
      ['65535s', undefined, [65535, 21845]],
    ] as const;
    for (const [holdTime, keepaliveTime, want] of cases) {
      const spec = {
        peerAddress: '192.0.2.254',
        peerASN: 65000,
        holdTime,
        ...(keepaliveTime === undefined ? {} : { keepaliveTime }),
      };
      const result = bgpPeerSnapshot(
        { metadata: { name: 'p', uid: 'u', resourceVersion: '1' }, spec },
        new Map(),
        64512,
      );
      if (!result.ok) assert.fail(result.problem);
      assert.deepEqual([result.snapshot.holdTimeSeconds, result.snapshot.keepaliveTimeSeconds], want);
      assert.equal(check.check(result.snapshot).ok, true, holdTime);
    }
    const secret = {
      metadata: { name: 'md5', uid: 's', resourceVersion: '1' },
      data: { password: Buffer.from('x'.repeat(81)).toString('base64') },
    };
    const peer = {
      metadata: { name: 'p', uid: 'u', resourceVersion: '1' },
      spec: { peerAddress: '192.0.2.254', peerASN: 65000, passwordSecretRef: { name: 'md5' } },
    };
    assert.deepEqual(bgpPeerSnapshot(peer, new Map([['md5', secret]]), 64512), {
      ok: false,
      problem: "password in Secret md5 is longer than TCP MD5's 80 characters",
    });
  });

  it('fills pool and BGPConfig defaults', () => {
    const { revision: poolRevision, ...pool } = poolSnapshot({
      metadata: { name: 'p', uid: 'u', resourceVersion: '1' },
      spec: { addresses: ['203.0.113.0/24'], mode: 'bgp', bgp: {} },
    });
    assert.deepEqual(pool, {
      v: 1,
      key: 'p',
      addresses: ['203.0.113.0/24'],
      mode: 'bgp',
      autoAssign: true,
      priority: 0,
      namespaces: [],
      avoidBuggyIPs: false,
      bgp: { communities: [], peers: [] },
    });
    const { revision: configRevision, ...config } = bgpConfigSnapshot({
      metadata: { name: 'default', uid: 'u', resourceVersion: '1' },
      spec: { asn: 64512 },
    });
    assert.deepEqual(config, {
      v: 1,
      key: 'default',
      asn: 64512,
      listenPort: 179,
      topology: 'per-node',
      gracefulRestart: false,
    });
  });
});
