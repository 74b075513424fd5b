import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { startControlPlane, type RigControlPlane } from '@berth/rig';

const crdDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'deploy', 'helm', 'berth', 'crds');

type Spec = Record<string, unknown>;
const pool = (spec: Spec) => ({ apiVersion: 'berth.dev/v1alpha1', kind: 'IPPool', spec: { mode: 'bgp', ...spec } });
const peer = (spec: Spec) => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'BGPPeer',
  spec: { peerAddress: '192.0.2.254', peerASN: 65000, ...spec },
});
const config = (spec: Spec, name = 'default') => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'BGPConfig',
  metadata: { name },
  spec: { asn: 64512, ...spec },
});

describe('CRDs - installed in a real kube-apiserver', () => {
  let kube: RigControlPlane;
  let n = 0;
  const apply = (object: object) =>
    kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ metadata: { name: `obj-${n++}` }, ...object }) });

  before(async () => {
    kube = await startControlPlane();
    await kube.kubectl(['apply', '-f', crdDir]);
    await kube.kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd', '-l', '!nonexistent', '--all']);
  });
  after(() => kube.stop());

  it('accepts well-formed objects and fills in the defaults', async () => {
    await apply(
      pool({
        addresses: [
          '192.0.2.0/24',
          '198.51.100.10-198.51.100.20',
          '203.0.113.7',
          '2001:db8::/120',
          '2001:db8:1::1-2001:db8:1::ff',
        ],
      }),
    );
    await apply(
      pool({ mode: 'layer2', addresses: ['203.0.113.0/28'], layer2: { interfaces: ['eth0'] }, namespaces: ['shop'] }),
    );
    await apply(peer({ holdTime: '9s', keepaliveTime: '3s', addressFamilies: ['IPv4', 'IPv6'], addPath: true }));
    await apply(peer({ peerAddress: '2001:db8::fe', holdTime: '0s' }));
    await apply(config({ routerID: '192.0.2.1', topology: 'central' }));
    const stored = JSON.parse(await kube.kubectl(['get', 'bgppeer', 'obj-3', '-o', 'json'])) as { spec: Spec };
    assert.deepEqual(stored.spec, {
      peerAddress: '2001:db8::fe',
      peerASN: 65000,
      holdTime: '0s',
      port: 179,
      addPath: false,
    });
    const table = await kube.kubectl(['get', 'ippools']);
    assert.match(table, /^NAME\s+MODE\s+ADDRESSES\s+AUTO\s+PRIORITY\s+FREE V4\s+FREE V6\s+VALID\s+AGE$/m);
  });

  const refused: { desc: string; object: object; message: RegExp }[] = [
    {
      desc: 'a malformed CIDR',
      object: pool({ addresses: ['192.0.2.0/33'] }),
      message: /"192.0.2.0\/33" is not an address, a CIDR \(192.0.2.0\/24, 2001:db8::\/120\) or a range/,
    },
    {
      desc: 'a CIDR with host bits',
      object: pool({ addresses: ['192.0.2.5/24'] }),
      message: /"192.0.2.5\/24" has host bits set: write the network address/,
    },
    {
      desc: 'a range whose first is after its last',
      object: pool({ addresses: ['192.0.2.20-192.0.2.10'] }),
      message: /range "192.0.2.20-192.0.2.10" ends before it starts: write the lower address first/,
    },
    {
      desc: 'an IPv6 range backwards',
      object: pool({ addresses: ['2001:db8::8000-2001:db8::7fff'] }),
      message: /range "2001:db8::8000-2001:db8::7fff" ends before it starts/,
    },
    {
      desc: 'a range across families',
      object: pool({ addresses: ['192.0.2.1-2001:db8::1'] }),
      message: /mixes IPv4 and IPv6/,
    },
    {
      desc: 'an unknown mode',
      object: pool({ mode: 'ospf', addresses: ['192.0.2.0/24'] }),
      message: /spec.mode: Unsupported value: "ospf": supported values: "bgp", "layer2"/,
    },
    {
      desc: 'no addresses',
      object: pool({ addresses: [] }),
      message: /spec.addresses: Invalid value: 0: spec.addresses in body should have at least 1 items/,
    },
    {
      desc: 'layer2 settings on a bgp pool',
      object: pool({ addresses: ['192.0.2.0/24'], layer2: { interfaces: ['eth0'] } }),
      message: /layer2 settings apply only to a pool with mode: layer2/,
    },
    {
      desc: 'a community out of range',
      object: pool({ addresses: ['192.0.2.0/24'], bgp: { communities: ['65000:70000'] } }),
      message: /community "65000:70000" must be two numbers up to 65535/,
    },
    {
      desc: 'a pool limited to some peers, which Berth cannot do yet',
      object: pool({ addresses: ['192.0.2.0/24'], bgp: { peers: ['tor-a'] } }),
      message: /bgp.peers is not supported yet: every BGPPeer receives the routes of every bgp pool/,
    },
    {
      desc: 'an ASN out of range',
      object: peer({ peerASN: 4294967296 }),
      message:
        /spec.peerASN: Invalid value: 4294967296: spec.peerASN in body should be less than or equal to 4294967295/,
    },
    {
      desc: 'an ASN of zero',
      object: config({ asn: 0 }),
      message: /spec.asn: Invalid value: 0: spec.asn in body should be greater than or equal to 1/,
    },
    {
      desc: 'a holdTime of 1s',
      object: peer({ holdTime: '1s' }),
      message: /holdTime 1s is not allowed: use 0s, or between 3s and 65535s \(RFC 4271\)/,
    },
    {
      desc: 'a keepalive not below the hold time',
      object: peer({ holdTime: '9s', keepaliveTime: '9s' }),
      message: /keepaliveTime must be shorter than holdTime/,
    },
    {
      desc: 'a peer address that is not an IP',
      object: peer({ peerAddress: 'router.example' }),
      message: /peerAddress "router.example" is not an IP address/,
    },
    {
      desc: 'an IPv6 router ID',
      object: config({ routerID: '2001:db8::1' }),
      message: /routerID "2001:db8::1" must be an IPv4 address/,
    },
    {
      desc: 'a second BGPConfig',
      object: config({}, 'other'),
      message: /there is one BGPConfig and its name is default/,
    },
  ];
  for (const { desc, object, message } of refused) {
    it(`refuses ${desc} with a message a person understands`, async () => {
      await assert.rejects(apply(object), message);
    });
  }

  it('orders ranges exactly like arithmetic on the addresses (64 random ranges per object)', async () => {
    const v4 = fc
      .tuple(fc.nat(255), fc.nat(255))
      .map(([a, b]) => [`192.0.2.${a}`, `192.0.2.${b}`, BigInt(a), BigInt(b)] as const);
    const hextets = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 });
    const v6 = fc.tuple(hextets, hextets).map(([a, b]) => {
      const text = (h: number[]) => h.map((x) => x.toString(16)).join(':');
      const value = (h: number[]) => h.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n);
      return [text(a), text(b), value(a), value(b)] as const;
    });
    const sample = fc.sample(fc.oneof(v4, v6), { numRuns: 128, seed: 2026 });
    for (let offset = 0; offset < sample.length; offset += 64) {
      const batch = sample.slice(offset, offset + 64);
      const addresses = [...new Set(batch.map(([a, b]) => `${a}-${b}`))];
      const expectedBad = batch.filter(([, , a, b]) => a > b).map(([a, b]) => `${a}-${b}`);
      assert.ok(expectedBad.length > 0 && expectedBad.length < batch.length, 'each batch mixes good and bad ranges');
      const outcome = await apply(pool({ addresses })).then(
        () => '',
        (error: unknown) => String(error),
      );
      const reportedBad = [...outcome.matchAll(/range "([^"]+)" ends before it starts/g)].map((m) => m[1]);
      assert.deepEqual(new Set(reportedBad), new Set(expectedBad));
    }
  });
});
