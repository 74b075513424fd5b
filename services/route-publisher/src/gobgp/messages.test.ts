import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { PathSpec } from '../routes/speaker-paths.js';
import { pathFromMessage, pathMessage } from './messages.js';
import { Reply } from './reply.js';

const path: fc.Arbitrary<PathSpec> = fc
  .oneof(
    fc.record({ family: fc.constant('IPv4' as const), host: fc.integer({ min: 1, max: 254 }) }),
    fc.record({ family: fc.constant('IPv6' as const), host: fc.integer({ min: 1, max: 0xffff }) }),
  )
  .chain(({ family, host }) =>
    fc
      .record({
        prefix: fc.constant(family === 'IPv4' ? `203.0.113.${host}/32` : `2001:db8:cafe::${host.toString(16)}/128`),
        family: fc.constant(family),
        identifier: fc.integer({ min: 0, max: 255 }),
        nextHop: fc.constant(family === 'IPv4' ? '198.18.0.11' : '2001:db8::11'),
        communities: fc
          .uniqueArray(fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })), {
            maxLength: 3,
          })
          .map((pairs) => pairs.map(([asn, value]) => `${asn}:${value}`).sort()),
        localPref: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
      })
      .map(({ localPref, ...rest }) => (localPref === undefined ? rest : { ...rest, localPref })),
  );

describe('GoBGP messages', () => {
  it('a path reads back as it was written (proto3 JSON, through Reply)', () => {
    fc.assert(
      fc.property(path, (p) => {
        const wire: unknown = JSON.parse(JSON.stringify(pathMessage(p)));
        assert.deepEqual(pathFromMessage(new Reply(wire), p.family), p);
      }),
    );
  });

  it('a reply of another shape reads as missing, never as a wrong value', () => {
    const reply = new Reply({ nlri: { '@type': 'type.googleapis.com/apipb.IPAddressPrefix', prefix: 7 }, pattrs: 'x' });
    assert.equal(pathFromMessage(reply, 'IPv4'), undefined);
    assert.equal(new Reply(null).get('a').list('b').length, 0);
    assert.deepEqual(new Reply({ n: [1, 'two', 3] }).numbers('n'), [1, 3]);
  });
});
