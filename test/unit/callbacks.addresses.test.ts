import { describe, expect, it } from "vitest";
import { AllowList, forbiddenReason, parseAddress } from "../../src/callbacks/addresses.js";

const reason = (address: string): string | undefined => forbiddenReason(parseAddress(address)!);

describe("addresses a callback must never reach", () => {
  it.each([
    "127.0.0.1",
    "127.1.2.3",
    "10.0.0.5",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.1.1",
    "0.0.0.0",
    "100.64.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd00:ec2::254",
    "::ffff:127.0.0.1",
    "::ffff:a9fe:a9fe",
    "::ffff:10.0.0.1",
    "64:ff9b::10.0.0.1",
    "[::1]",
  ])("refuses %s", (address) => {
    expect(reason(address)).toBeDefined();
  });

  it.each(["93.184.216.34", "8.8.8.8", "172.32.0.1", "192.169.0.1", "2606:4700::1111", "::ffff:8.8.8.8"])(
    "lets public %s through",
    (address) => {
      expect(reason(address)).toBeUndefined();
    },
  );

  it("names the metadata address and loopback distinctly", () => {
    expect(reason("169.254.169.254")).toMatch(/metadata/);
    expect(reason("::ffff:169.254.169.254")).toMatch(/metadata/);
    expect(reason("127.0.0.1")).toMatch(/loopback/);
    expect(reason("::1")).toMatch(/loopback/);
  });

  it("does not read names or malformed text as addresses", () => {
    expect(parseAddress("localhost")).toBeUndefined();
    expect(parseAddress("1.2.3")).toBeUndefined();
    expect(parseAddress("1.2.3.256")).toBeUndefined();
  });
});

describe("the operator's allow-list", () => {
  const list = new AllowList(["127.0.0.1", "10.20.0.0/16", "hooks.internal", "fd12::/16"]);

  it("allows listed addresses and ranges, also in v4-mapped form", () => {
    expect(list.allowsAddress(parseAddress("127.0.0.1")!)).toBe(true);
    expect(list.allowsAddress(parseAddress("::ffff:127.0.0.1")!)).toBe(true);
    expect(list.allowsAddress(parseAddress("10.20.3.4")!)).toBe(true);
    expect(list.allowsAddress(parseAddress("fd12::9")!)).toBe(true);
  });

  it("allows nothing else", () => {
    expect(list.allowsAddress(parseAddress("127.0.0.2")!)).toBe(false);
    expect(list.allowsAddress(parseAddress("10.21.0.1")!)).toBe(false);
    expect(list.allowsAddress(parseAddress("169.254.169.254")!)).toBe(false);
    expect(list.allowsHost("HOOKS.internal")).toBe(true);
    expect(list.allowsHost("hooks.internal.evil.test")).toBe(false);
  });
});
