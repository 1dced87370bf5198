import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAddressLike, specialPurpose } from '../../lib/net/address-policy.js';
import { AddressPolicy } from '../support/api.js';

describe('the address policy', () => {
  it('refuses every special-purpose address by default, in each of its spellings', () => {
    const refused: Array<[string, RegExp]> = [
      ['127.0.0.1', /loopback/],
      ['127.255.0.9', /loopback/],
      ['::1', /loopback/],
      ['10.1.2.3', /private/],
      ['172.31.0.1', /private/],
      ['192.168.1.1', /private/],
      ['100.64.0.1', /carrier-grade/],
      ['169.254.169.254', /link-local/],
      ['fe80::1', /link-local/],
      ['fd12:3456::1', /unique-local/],
      ['224.0.0.1', /multicast/],
      ['ff02::1', /multicast/],
      ['0.0.0.0', /unspecified/],
      ['::', /unspecified/],
      ['255.255.255.255', /reserved/],
      ['::ffff:127.0.0.1', /loopback \(IPv4 inside IPv6\)/],
      ['0:0:0:0:0:ffff:a00:1', /private \(IPv4 inside IPv6\)/],
      ['64:ff9b::c0a8:101', /private \(IPv4 inside IPv6\)/],
      ['2001:db8::1', /documentation/],
      ['::127.0.0.1', /reserved/],
    ];
    const policy = new AddressPolicy();
    for (const [address, category] of refused) {
      assert.match(policy.refusal(address) ?? 'allowed', category, address);
      assert.ok(specialPurpose(address), address);
    }
    for (const address of [
      '8.8.8.8',
      '1.1.1.1',
      '2606:4700:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
    ]) {
      assert.equal(policy.refusal(address), undefined, address);
    }
  });

  it('allows exactly the listed networks, IPv4-mapped forms included', () => {
    const policy = new AddressPolicy(['127.0.0.0/8', '10.1.0.0/16', 'fd00::/8', '192.168.5.5']);
    for (const address of ['127.0.0.1', '::ffff:127.0.0.2', '10.1.200.3', 'fd00::1', '192.168.5.5'])
      assert.equal(policy.refusal(address), undefined, address);
    for (const address of ['10.2.0.1', '192.168.5.6', 'fe80::1', '::1'])
      assert.ok(policy.refusal(address), address);
  });

  it('names a malformed allowance', () => {
    assert.throws(
      () => new AddressPolicy(['10.0.0.0/33']),
      /allowNetworks\[0\] "10\.0\.0\.0\/33" has a prefix outside 0-32/,
    );
    assert.throws(() => new AddressPolicy(['intranet']), /allowNetworks\[0\] "intranet" is not a network/);
    assert.throws(() => new AddressPolicy('10.0.0.0/8' as unknown as string[]), /must be a list of networks/);
  });

  it('sees addresses disguised as names', () => {
    for (const name of ['127.0.0.1', '2130706433', '0x7f.1', '127.1', '0177.0.0.1', '[::1]'])
      assert.ok(isAddressLike(name), name);
    for (const name of ['example.com', 'cal.example.com', 'localhost', '1a.example'])
      assert.ok(!isAddressLike(name), name);
  });
});
