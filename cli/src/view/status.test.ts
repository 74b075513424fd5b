import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  exampleAllocation,
  exampleBgpConfig,
  exampleNode,
  examplePool,
  exampleService,
} from '@berth/contracts/examples';
import { renderStatus, renderTable } from './render.js';
import { status } from './status.js';
import { emptyWorld, heartbeat, peer, refused, session, SETTINGS, worlds } from './test-worlds.js';
import type { BusWorld, ClusterView } from './world.js';

const NO_CLUSTER: ClusterView = { reachable: false, why: 'no kubeconfig' };

/** Pool public (one IPv4 address, 256 IPv6), lan (layer 2); shop/a served over BGP, shop/b refused, shop/c on lan. */
function world(): BusWorld {
  const w = emptyWorld();
  const services = new Map(
    ['a', 'b', 'c'].map((name) => {
      const svc = exampleService(0, 'shop', { key: `shop/${name}`, name, uid: `u-${name}`, ipFamilies: ['IPv4'] });
      return [svc.key, svc] as const;
    }),
  );
  return {
    ...w,
    services,
    pools: new Map([
      ['public', examplePool('public', ['203.0.113.10/32', '2001:db8:1::/120'])],
      ['lan', examplePool('lan', ['192.0.2.100-192.0.2.109'], { mode: 'layer2', layer2: { interfaces: ['eth0'] } })],
    ]),
    allocations: new Map([
      ['shop/a', exampleAllocation('shop/a', 'u-a', 'public', ['203.0.113.10'])],
      ['shop/b', refused('shop/b', 'u-b', 'PoolExhausted', 'no free IPv4 address in pools public')],
      ['shop/c', exampleAllocation('shop/c', 'u-c', 'lan', ['192.0.2.100'], 'layer2')],
    ]),
    nodes: new Map([
      ['n1', exampleNode('n1', ['192.0.2.11'])],
      ['n2', exampleNode('n2', ['192.0.2.12'])],
    ]),
    nodeHealth: new Map([
      ['n1', heartbeat('n1', 50, true, ['eth0', 'eth1'])],
      ['n2', heartbeat('n2', 50, true, ['eth0'])],
    ]),
    bgpConfig: exampleBgpConfig(),
    bgpPeers: new Map([
      ['r1', peer('r1', '192.0.2.254')],
      ['r2', peer('r2', '2001:db8::254')],
    ]),
    peerSessions: new Map([['r1/central-0', session('r1', 'central-0', 'Established', 75_000)]]),
  };
}

describe('status', () => {
  it('counts each pool’s addresses per family, in use and free', () => {
    assert.deepEqual(
      status(world(), NO_CLUSTER, SETTINGS).pools.map((p) => [p.pool, p.family, p.total, p.inUse, p.free]),
      [
        ['lan', 'IPv4', '10', 1, '9'],
        ['public', 'IPv4', '1', 1, '0'],
        ['public', 'IPv6', '256', 0, '256'],
      ],
    );
  });

  it('shows what the cluster says is wrong with a pool, and survives one it cannot read', () => {
    const w = { ...world(), pools: new Map([...world().pools, ['odd', examplePool('odd', ['not-an-address'])]]) };
    const cluster: ClusterView = {
      reachable: true,
      poolConditions: new Map([
        [
          'lan',
          [{ type: 'Valid', status: 'False', reason: 'Overlaps', message: '192.0.2.100-192.0.2.109 overlaps x' }],
        ],
      ]),
    };
    const rows = status(w, cluster, SETTINGS).pools;
    assert.equal(rows.find((r) => r.pool === 'lan')?.note, 'Overlaps: 192.0.2.100-192.0.2.109 overlaps x');
    assert.match(rows.find((r) => r.pool === 'odd')?.note ?? '', /^cannot read its addresses: /);
  });

  it('renders three tables for people', () => {
    assert.equal(
      renderStatus(status(world(), NO_CLUSTER, SETTINGS)),
      `POOL    MODE    FAMILY  TOTAL  IN USE  FREE  NOTE
lan     layer2  IPv4    10     1       9
public  bgp     IPv4    1      1       0
public  bgp     IPv6    256    0       256

SERVICE  VIP           POOL    MODE    NEXT HOPS / OWNER       NOTE
shop/a   203.0.113.10  public  bgp     192.0.2.11, 192.0.2.12
shop/b   -             -       -       -                       refused: PoolExhausted
shop/c   192.0.2.100   lan     layer2  n2 (ARP on eth0)

PEER  ADDRESS        ASN    SPEAKER    STATE                SINCE  PREFIXES
r1    192.0.2.254    65000  central-0  Established          1m15s  1
r2    2001:db8::254  65000  -          no session reported  -      -`,
    );
  });

  it('says so when a table is empty', () => {
    assert.equal(renderTable(['POOL', 'MODE'], [], '(no IPPool on the bus)'), 'POOL  MODE\n(no IPPool on the bus)');
  });

  it('never throws, and gives every Service on the bus at least one row', () => {
    fc.assert(
      fc.property(worlds, ({ world: w, cluster }) => {
        const shown = status(w, cluster, SETTINGS);
        for (const key of w.services.keys())
          assert.ok(
            shown.services.some((r) => r.service === key),
            key,
          );
        for (const pool of shown.pools)
          if (pool.family !== undefined) assert.ok(BigInt(pool.inUse) <= BigInt(pool.total));
        // A row that is not fine always says why.
        for (const row of shown.services) if (!row.fine) assert.notEqual(row.note, '', row.service);
        renderStatus(shown);
      }),
      { numRuns: 300 },
    );
  });
});
