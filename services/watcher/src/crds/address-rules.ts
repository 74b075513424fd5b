import type { Rule } from './schema.js';

// CEL rules for one entry of IPPool.spec.addresses: an address, a CIDR, or a range `first-last`.
// Kubernetes CEL has no cel.bind in CRD rules and no ordering of IPs, so the parts are spelled
// out and the order check is generated (see rangeOrderRule).

const first = "self.substring(0, self.indexOf('-'))";
const last = "self.substring(self.indexOf('-') + 1)";
const isRange = `self.indexOf('-') > 0 && isIP(${first}) && isIP(${last})`;

/**
 * `first <= last` without comparing IPs: find p, the longest prefix length at which the network of
 * `first` still contains `last` (an unrolled binary search: the cost estimator charges the deepest
 * branch, not all 128 of a loop); then `first` comes first exactly when its bit p+1 is 0, that is
 * when its /p and /(p+1) networks start at the same address.
 */
export function rangeOrderRule(): string {
  const contains = (p: number) => `cidr(${first} + '/${p}').containsIP(${last})`;
  const firstBitClear = (p: number) =>
    `cidr(${first} + '/${p + 1}').masked().ip() == cidr(${first} + '/${p}').masked().ip()`;
  const search = (lo: number, hi: number): string => {
    if (lo === hi) return firstBitClear(lo);
    const mid = Math.ceil((lo + hi) / 2);
    return `(${contains(mid)} ? ${search(mid, hi)} : ${search(lo, mid - 1)})`;
  };
  return (
    `!(${isRange}) || ip(${first}).family() != ip(${last}).family() || ip(${first}) == ip(${last}) || ` +
    `(ip(${first}).family() == 4 ? ${search(0, 31)} : ${search(0, 127)})`
  );
}

export function addressRules(): Rule[] {
  return [
    {
      rule: `isCIDR(self) || isIP(self) || (${isRange})`,
      messageExpression:
        "'\"' + self + '\" is not an address, a CIDR (192.0.2.0/24, 2001:db8::/120) or a range (192.0.2.10-192.0.2.20)'",
    },
    {
      rule: '!isCIDR(self) || cidr(self) == cidr(self).masked()',
      // string(cidr) has no size bound the cost estimator accepts, so the message cannot print the fix.
      messageExpression:
        "'\"' + self + '\" has host bits set: write the network address (192.0.2.0/24, not 192.0.2.5/24)'",
    },
    {
      rule: `!(${isRange}) || ip(${first}).family() == ip(${last}).family()`,
      messageExpression: "'range \"' + self + '\" mixes IPv4 and IPv6: list each family on its own'",
    },
    {
      rule: rangeOrderRule(),
      messageExpression: "'range \"' + self + '\" ends before it starts: write the lower address first'",
    },
  ];
}
