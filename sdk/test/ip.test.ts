/** The address matcher behind `-m ip` (and `src`): IPv4, IPv6, CIDR, netmasks, mapped addresses. */
import { AddressSet } from '@switchyard/sdk';

const set = new AddressSet();
for (const p of ['10.0.0.0/8', '192.168.0.0/255.255.0.0', '::1', '2001:db8::/32', 'fe80::/10', '1.2.3.4']) set.add(p);

test.each([
  ['10.1.2.3', true], ['11.0.0.1', false], ['192.168.5.5', true], ['192.169.0.1', false],
  ['::1', true], ['::2', false], ['2001:db8:1::5', true], ['2001:db9::1', false], ['fe80::1%eth0', true],
  ['::ffff:10.0.0.1', true], ['::ffff:11.0.0.1', false], ['1.2.3.4', true], ['1.2.3.5', false],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', true], ['garbage', false], ['1.2.3', false], ['01.2.3.4', false],
  ['1::2::3', false], ['', false],
] as const)('%s in the set: %s', (addr, expected) => {
  expect(set.has(addr)).toBe(expected);
});

test.each(['1.2.3.4/33', '::/129', 'x', '1.2.3.4/255.0.255.0', '10.0.0.0/'])('%s is refused', (p) => {
  expect(() => new AddressSet().add(p)).toThrow();
});

test('0.0.0.0/0 and ::/0 match everything of their family', () => {
  const all = new AddressSet();
  all.add('0.0.0.0/0');
  expect(all.has('203.0.113.9')).toBe(true);
  expect(all.has('2001:db8::1')).toBe(false);
  all.add('::/0');
  expect(all.has('2001:db8::1')).toBe(true);
});
