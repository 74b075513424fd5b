import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { wireAddress } from './address.js';
import { arpReply, BROADCAST_MAC, gratuitousArp, isClaim, parseArp } from './arp.js';
import { neighborAdvertisement, parseNdp, solicitedNodeGroup } from './ndp.js';

const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => Buffer.from(b));
const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => Buffer.from(b));
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b));

/** An ARP request as a client sends it (arping puts the broadcast address in the target MAC). */
function request(sender: Buffer, senderIp: Buffer, targetIp: Buffer): Buffer {
  const probe = gratuitousArp(sender, senderIp, 'request');
  probe.set(targetIp, 38);
  return probe;
}

describe('ARP', () => {
  it('answers a request straight to the asker, from the VIP at our MAC', () => {
    fc.assert(
      fc.property(mac, mac, ipv4, ipv4, (ours, theirs, vip, asker) => {
        fc.pre(!vip.equals(asker));
        const asked = parseArp(request(theirs, asker, vip));
        assert.ok(asked !== undefined && asked.op === 'request' && !isClaim(asked));
        assert.equal(asked.targetIp, vip.toString('hex'));
        const reply = arpReply(ours, vip, asked);
        assert.deepEqual(reply.subarray(0, 6), theirs, 'unicast to the asker');
        const parsed = parseArp(reply);
        assert.deepEqual(parsed, {
          op: 'reply',
          senderMac: ours,
          senderIp: vip.toString('hex'),
          targetMac: theirs,
          targetIp: asker.toString('hex'),
        });
        assert.ok(isClaim(parsed));
      }),
    );
  });

  it('gratuitous requests and replies are broadcast claims of the VIP', () => {
    fc.assert(
      fc.property(mac, ipv4, fc.constantFrom('request' as const, 'reply' as const), (ours, vip, op) => {
        const frame = gratuitousArp(ours, vip, op);
        assert.equal(frame.length, 60);
        assert.deepEqual(frame.subarray(0, 6), BROADCAST_MAC);
        const parsed = parseArp(frame);
        assert.ok(parsed !== undefined && isClaim(parsed));
        assert.equal(parsed.op, op);
        assert.equal(parsed.senderIp, parsed.targetIp);
      }),
    );
  });

  it('reads anything else as nothing, never throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const frame = Buffer.from(bytes);
        const parsed = parseArp(frame);
        if (parsed !== undefined) assert.equal(frame.readUInt16BE(12), 0x0806);
      }),
    );
    const ipv6Frame = gratuitousArp(Buffer.alloc(6, 1), Buffer.alloc(4, 2), 'request');
    ipv6Frame.writeUInt16BE(0x86dd, 12);
    assert.equal(parseArp(ipv6Frame), undefined);
  });
});

describe('NDP', () => {
  it('advertisements read back with the target, our MAC and the flags', () => {
    fc.assert(
      fc.property(ipv6, mac, fc.boolean(), (target, ours, solicited) => {
        const parsed = parseNdp(neighborAdvertisement(target, ours, solicited), 255);
        assert.deepEqual(parsed, {
          type: 'advertisement',
          target: target.toString('hex'),
          targetMac: ours,
          solicited,
          override: true,
        });
      }),
    );
  });

  it('reads a solicitation with its source link-layer option', () => {
    const target = wireAddress('2001:db8::100');
    const ns = Buffer.alloc(32);
    ns[0] = 135;
    ns.set(target.bytes, 8);
    ns[24] = 1;
    ns[25] = 1;
    ns.set([2, 0, 0, 0, 0, 1], 26);
    assert.deepEqual(parseNdp(ns, 255), {
      type: 'solicitation',
      target: target.key,
      sourceMac: Buffer.from([2, 0, 0, 0, 0, 1]),
    });
    assert.deepEqual(parseNdp(ns.subarray(0, 24), 255), { type: 'solicitation', target: target.key });
    assert.equal(parseNdp(ns, 254), undefined, 'a forwarded solicitation is ignored');
    ns[25] = 0;
    assert.equal(parseNdp(ns, 255), undefined, 'an option of length zero is malformed');
  });

  it('reads random bytes as nothing or as a message, never throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 255 }), (bytes, hops) => {
        const parsed = parseNdp(Buffer.from(bytes), hops);
        if (parsed !== undefined) assert.equal(hops, 255);
      }),
    );
  });

  it('solicitations for an address go to its solicited-node group', () => {
    assert.equal(solicitedNodeGroup(wireAddress('2001:db8::100').bytes), 'ff02::1:ff00:100');
    assert.equal(solicitedNodeGroup(wireAddress('2001:db8::abcd:ef12').bytes), 'ff02::1:ffcd:ef12');
  });
});

describe('addresses', () => {
  it('keys an address by its bytes whatever its spelling', () => {
    assert.equal(wireAddress('2001:DB8:0::0100').key, wireAddress('2001:db8::100').key);
    assert.equal(wireAddress('2001:DB8:0::0100').text, '2001:db8::100');
    assert.equal(wireAddress('192.0.2.100').key, 'c0000264');
    assert.throws(() => wireAddress('192.0.2.300'), /not an IPv4 or IPv6 address/);
  });
});
