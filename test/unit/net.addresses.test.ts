import { describe, expect, it } from "vitest";
import { AllowList, isAllowListEntry, parseIp, refusalReason } from "../../src/net/addresses.js";

const reason = (address: string): string | undefined => {
  const parsed = parseIp(address);
  if (parsed === undefined) throw new Error(`test address ${address} does not parse`);
  return refusalReason(parsed);
};

/** Teredo (RFC 4380) for a server and client: the client's address is stored inverted in the last 32 bits. */
function teredo(server: string, client: string): string {
  const [a = 0, b = 0, c = 0, d = 0] = server.split(".").map(Number);
  const [e = 0, f = 0, g = 0, h = 0] = client.split(".").map(Number);
  const hex = (n: number): string => n.toString(16);
  return `2001:0:${hex((a << 8) | b)}:${hex((c << 8) | d)}:8000:63bf:${hex(~((e << 8) | f) & 0xffff)}:${hex(~((g << 8) | h) & 0xffff)}`;
}

describe("addresses the gateway never lets a tenant URL point at", () => {
  it.each<[string, string, RegExp]>([
    // IPv4
    ["loopback", "127.0.0.1", /loopback/],
    ["loopback, anywhere in 127/8", "127.1.2.3", /loopback/],
    ["private 10/8", "10.0.0.5", /private/],
    ["private 172.16/12, first", "172.16.0.1", /private/],
    ["private 172.16/12, last", "172.31.255.255", /private/],
    ["private 192.168/16", "192.168.1.1", /private/],
    ["cloud metadata", "169.254.169.254", /cloud metadata/],
    ["ECS task metadata", "169.254.170.2", /cloud metadata/],
    ["Alibaba metadata", "100.100.100.200", /cloud metadata/],
    ["Oracle metadata", "192.0.0.192", /cloud metadata/],
    ["link-local", "169.254.1.1", /link-local/],
    ["CGNAT, first", "100.64.0.1", /carrier-grade NAT/],
    ["CGNAT, last", "100.127.255.254", /carrier-grade NAT/],
    ["unspecified", "0.0.0.0", /unspecified/],
    ["this network", "0.1.2.3", /unspecified/],
    ["multicast", "224.0.0.1", /reserved or special/],
    ["broadcast", "255.255.255.255", /reserved or special/],
    ["reserved 240/4", "240.0.0.1", /reserved or special/],
    ["documentation", "192.0.2.1", /reserved or special/],
    ["benchmarking", "198.18.0.1", /reserved or special/],
    // IPv6
    ["v6 loopback", "::1", /loopback/],
    ["v6 loopback in brackets", "[::1]", /loopback/],
    ["v6 unspecified", "::", /unspecified/],
    ["v6 link-local", "fe80::1", /link-local/],
    ["v6 link-local with a zone", "fe80::1%eth0", /link-local/],
    ["unique-local fc00::/7", "fc00::1", /unique-local/],
    ["unique-local fd00::/8", "fd12:3456::1", /unique-local/],
    ["AWS metadata over IPv6", "fd00:ec2::254", /cloud metadata/],
    ["site-local", "fec0::1", /site-local/],
    ["v6 multicast", "ff02::1", /reserved or special/],
    ["v6 documentation", "2001:db8::1", /reserved or special/],
    // IPv6 forms of IPv4 addresses
    ["IPv4-mapped loopback", "::ffff:127.0.0.1", /IPv4-mapped address of 127\.0\.0\.1, a loopback/],
    [
      "IPv4-mapped metadata, hex",
      "::ffff:a9fe:a9fe",
      /IPv4-mapped address of 169\.254\.169\.254, a cloud metadata/,
    ],
    ["IPv4-mapped private", "::ffff:10.0.0.1", /IPv4-mapped address of 10\.0\.0\.1, a private/],
    ["IPv4-translated private", "::ffff:0:10.0.0.1", /IPv4-translated address of 10\.0\.0\.1/],
    ["IPv4-compatible loopback", "::127.0.0.1", /IPv4-compatible address of 127\.0\.0\.1, a loopback/],
    ["IPv4-compatible public (deprecated form)", "::8.8.8.8", /deprecated IPv4-compatible/],
    ["IPv4-compatible public, in hex", "::808:808", /deprecated IPv4-compatible/],
    ["6to4 loopback", "2002:7f00:1::1", /6to4 address of 127\.0\.0\.1, a loopback/],
    ["6to4 metadata", "2002:a9fe:a9fe::", /6to4 address of 169\.254\.169\.254, a cloud metadata/],
    ["6to4 private", "2002:c0a8:101:1::1", /6to4 address of 192\.168\.1\.1, a private/],
    ["NAT64 loopback", "64:ff9b::127.0.0.1", /NAT64 address of 127\.0\.0\.1, a loopback/],
    ["NAT64 metadata", "64:ff9b::a9fe:a9fe", /NAT64 address of 169\.254\.169\.254, a cloud metadata/],
    ["NAT64 private", "64:ff9b::10.0.0.1", /NAT64 address of 10\.0\.0\.1, a private/],
    ["local-use NAT64", "64:ff9b:1::1", /local-use NAT64/],
    ["local-use NAT64 around a public address", "64:ff9b:1:abcd::8.8.8.8", /local-use NAT64/],
    ["Teredo to a loopback client", teredo("65.54.227.120", "127.0.0.1"), /Teredo address of 127\.0\.0\.1/],
    ["Teredo to a metadata client", teredo("65.54.227.120", "169.254.169.254"), /cloud metadata/],
    ["Teredo with a private server", teredo("10.0.0.1", "8.8.8.8"), /Teredo address of 10\.0\.0\.1/],
  ])("refuses %s (%s)", (_what, address, why) => {
    expect(reason(address)).toMatch(why);
  });

  it.each([
    "8.8.8.8",
    "93.184.216.34",
    "1.1.1.1",
    "11.0.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "192.169.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "169.253.255.255",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",
    teredo("65.54.227.120", "8.8.8.8"),
  ])("lets public %s through", (address) => {
    expect(reason(address)).toBeUndefined();
  });

  it("reads only standard spellings as addresses", () => {
    for (const text of [
      "localhost",
      "1.2.3",
      "1.2.3.256",
      "2130706433",
      "0x7f.1",
      "017700000001",
      "1.2.3.4%eth0",
    ]) {
      expect(parseIp(text)).toBeUndefined();
    }
  });
});

describe("the operator's allow-list", () => {
  const list = new AllowList(["127.0.0.1", "10.20.0.0/16", "hooks.internal", "fd12::/16"]);
  const allows = (address: string): boolean => list.allowsAddress(parseIp(address)!);

  it("allows listed addresses and ranges, also in their IPv6 forms", () => {
    expect(allows("127.0.0.1")).toBe(true);
    expect(allows("::ffff:127.0.0.1")).toBe(true);
    expect(allows("10.20.3.4")).toBe(true);
    expect(allows("2002:a14:304::1")).toBe(true);
    expect(allows("64:ff9b::10.20.3.4")).toBe(true);
    expect(allows("fd12::9")).toBe(true);
    expect(list.allowsHost("HOOKS.internal")).toBe(true);
    expect(list.allowsHost("hooks.internal.")).toBe(true);
  });

  it("allows nothing else", () => {
    expect(allows("127.0.0.2")).toBe(false);
    expect(allows("10.21.0.1")).toBe(false);
    expect(allows("169.254.169.254")).toBe(false);
    expect(allows("fd13::1")).toBe(false);
    expect(list.allowsHost("hooks.internal.evil.test")).toBe(false);
    expect(list.allowsHost("evil-hooks.internal")).toBe(false);
  });

  it("takes CIDRs, addresses and host names, and refuses anything else in config", () => {
    for (const entry of ["10.0.0.0/8", "fd00::/8", "::1", "127.0.0.1", "minio.internal", "localhost"]) {
      expect(isAllowListEntry(entry)).toBe(true);
    }
    for (const entry of ["10.0.0.0/33", "::/129", "10.0.0.0/8/8", "2130706433", "0x7f.1", "bad host!", ""]) {
      expect(isAllowListEntry(entry)).toBe(false);
    }
  });
});
