import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AllocationSnapshot } from '@berth/contracts';
import type { ServiceObject } from '../snapshots/objects.js';
import { ADDRESS_CONDITION, CLEANUP_FINALIZER } from '@berth/kube/rules';
import { decideFinalizers, decideRelease, decideStatus } from './service-status.js';

const now = new Date('2026-11-22T03:00:00.123Z');
const svc = (extra: Partial<ServiceObject['metadata']> = {}, status: ServiceObject['status'] = {}): ServiceObject => ({
  metadata: { name: 'web', namespace: 'shop', uid: 'u1', resourceVersion: '5', generation: 2, ...extra },
  status,
});
const assigned = (addresses: string[], uid = 'u1'): AllocationSnapshot => ({
  v: 1,
  key: 'shop/web',
  revision: '1',
  serviceUid: uid,
  result: { type: 'assigned', pool: 'public', mode: 'bgp', addresses },
});
const refused: AllocationSnapshot = {
  v: 1,
  key: 'shop/web',
  revision: '2',
  serviceUid: 'u1',
  result: { type: 'refused', reason: 'PoolExhausted', message: 'pool public has no free IPv4 address' },
};

describe('service status - deciding', () => {
  it('writes the addresses with ipMode VIP and a True condition, with a Normal event', () => {
    const decision = decideStatus(svc(), assigned(['203.0.113.10', '2001:db8::10']), now);
    assert.deepEqual(decision, {
      write: {
        ingress: [
          { ip: '203.0.113.10', ipMode: 'VIP' },
          { ip: '2001:db8::10', ipMode: 'VIP' },
        ],
        condition: {
          type: ADDRESS_CONDITION,
          status: 'True',
          reason: 'Assigned',
          message: '203.0.113.10, 2001:db8::10 from pool public',
          lastTransitionTime: '2026-11-22T03:00:00Z',
          observedGeneration: 2,
        },
      },
      event: {
        type: 'Normal',
        reason: 'AddressAssigned',
        note: 'Assigned 203.0.113.10, 2001:db8::10 from pool public',
      },
    });
  });

  it('explains a refusal with a False condition and a Warning event carrying the reason', () => {
    const decision = decideStatus(svc(), refused, now);
    assert.ok(decision.write);
    assert.equal(decision.write.condition.status, 'False');
    assert.equal(decision.write.condition.reason, 'PoolExhausted');
    assert.deepEqual(decision.write.ingress, []);
    assert.deepEqual(decision.event, {
      type: 'Warning',
      reason: 'PoolExhausted',
      note: 'pool public has no free IPv4 address',
    });
  });

  it('ignores an allocation for another Service of the same name, and no allocation at all', () => {
    assert.deepEqual(decideStatus(svc(), assigned(['203.0.113.10'], 'older-uid'), now), {});
    assert.deepEqual(decideStatus(svc(), undefined, now), {});
  });

  it('is idempotent: once its write is applied there is nothing left to do, and no second event', () => {
    const allocation = fc.oneof(
      fc.constant(refused),
      fc.uniqueArray(fc.oneof(fc.ipV4(), fc.ipV6()), { minLength: 1, maxLength: 2 }).map((a) => assigned(a)),
    );
    fc.assert(
      fc.property(allocation, allocation, (first, second) => {
        let service = svc();
        for (const alloc of [first, second]) {
          const { write } = decideStatus(service, alloc, now);
          if (write !== undefined)
            service = svc({}, { loadBalancer: { ingress: write.ingress }, conditions: [write.condition] });
          assert.deepEqual(decideStatus(service, alloc, now), {});
        }
      }),
    );
  });

  it('keeps the transition time when only the message changes', () => {
    const earlier = '2026-11-01T00:00:00Z';
    const service = svc(
      {},
      {
        conditions: [
          {
            type: ADDRESS_CONDITION,
            status: 'False',
            reason: 'PoolExhausted',
            message: 'old',
            lastTransitionTime: earlier,
          },
        ],
      },
    );
    assert.equal(decideStatus(service, refused, now).write?.condition.lastTransitionTime, earlier);
  });
});

describe('service status - the cleanup finalizer', () => {
  const cases: {
    desc: string;
    service: ServiceObject;
    ours: boolean;
    allocation?: AllocationSnapshot;
    want: string[] | undefined;
  }[] = [
    { desc: 'adds it to a live Service of ours', service: svc(), ours: true, want: [CLEANUP_FINALIZER] },
    {
      desc: 'leaves it on a live Service of ours',
      service: svc({ finalizers: [CLEANUP_FINALIZER] }),
      ours: true,
      want: undefined,
    },
    {
      desc: 'holds a deleted Service while its lease exists',
      service: svc({ finalizers: [CLEANUP_FINALIZER], deletionTimestamp: 'x' }),
      ours: true,
      allocation: assigned(['203.0.113.10']),
      want: undefined,
    },
    {
      desc: 'lets a deleted Service go once released',
      service: svc({ finalizers: ['other', CLEANUP_FINALIZER], deletionTimestamp: 'x' }),
      ours: true,
      want: ['other'],
    },
    {
      desc: 'lets a refused Service go at once',
      service: svc({ finalizers: [CLEANUP_FINALIZER], deletionTimestamp: 'x' }),
      ours: true,
      allocation: refused,
      want: [],
    },
    {
      desc: 'ignores a lease of an older namesake',
      service: svc({ finalizers: [CLEANUP_FINALIZER], deletionTimestamp: 'x' }),
      ours: true,
      allocation: assigned(['203.0.113.10'], 'older'),
      want: [],
    },
    {
      desc: 'lets go of a Service that is no longer ours once released',
      service: svc({ finalizers: [CLEANUP_FINALIZER] }),
      ours: false,
      want: [],
    },
    { desc: 'never adds it to a Service that is not ours', service: svc(), ours: false, want: undefined },
  ];
  for (const { desc, service, ours, allocation, want } of cases) {
    it(desc, () => assert.deepEqual(decideFinalizers(service, ours, allocation), want));
  }
});

describe('service status - releasing when Berth is uninstalled', () => {
  const condition = {
    type: ADDRESS_CONDITION,
    status: 'True' as const,
    reason: 'Assigned',
    message: '203.0.113.10 from pool public',
    lastTransitionTime: '2026-11-22T03:00:00Z',
  };
  it('takes back the status and the finalizer of a Service of ours', () => {
    const service = svc({ finalizers: ['other', CLEANUP_FINALIZER] }, { conditions: [condition] });
    assert.deepEqual(decideRelease(service, true), { finalizers: ['other'] });
  });
  it('takes back the status of a Service of ours that holds no finalizer', () => {
    assert.deepEqual(decideRelease(svc(), true), {});
  });
  it('takes back the status and finalizer of a Service whose class changed but still shows Berth’s condition', () => {
    const service = svc({ finalizers: [CLEANUP_FINALIZER] }, { conditions: [condition] });
    assert.deepEqual(decideRelease(service, false), { finalizers: [] });
  });
  it('leaves alone a Service that was never Berth’s, even with the generic finalizer', () => {
    assert.equal(decideRelease(svc({ finalizers: [CLEANUP_FINALIZER] }), false), undefined);
  });
});
