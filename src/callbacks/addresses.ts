/**
 * IP address checks for tenant callback URLs (SSRF): which addresses a gateway must never POST to on a
 * tenant's behalf, and the operator's allow-list. Parsed by hand into bytes so v4, v6 and v4-mapped v6 are
 * compared the same way, with no dependency on how a resolver spells an address.
 */
import { isIPv4, isIPv6 } from "node:net";

/** 4 bytes (IPv4) or 16 bytes (IPv6). */
export type AddressBytes = readonly number[];

export function parseAddress(text: string): AddressBytes | undefined {
  const address = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (isIPv4(address)) return address.split(".").map(Number);
  // A zone id (fe80::1%eth0) names an interface, not part of the address.
  const bare = address.split("%")[0] ?? "";
  if (!isIPv6(bare)) return undefined;
  return parseV6(bare);
}

function parseV6(address: string): AddressBytes {
  let text = address;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (isIPv4(last)) {
    // An embedded dotted quad (::ffff:10.0.0.1) stands for the last two groups.
    tail.push(...last.split(".").map(Number));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head = "", rest] = text.split("::");
  const groupsOf = (part: string): number[] =>
    part === "" ? [] : part.split(":").map((g) => Number.parseInt(g, 16));
  const left = groupsOf(head);
  const right = rest === undefined ? [] : groupsOf(rest);
  const groups = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** The IPv4 address inside a v4-mapped (::ffff:a.b.c.d), v4-compatible (::a.b.c.d) or NAT64 (64:ff9b::/96) one. */
function embeddedV4(bytes: AddressBytes): AddressBytes | undefined {
  if (bytes.length !== 16) return undefined;
  const zeros = (from: number, to: number): boolean => bytes.slice(from, to).every((b) => b === 0);
  const v4 = bytes.slice(12);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return v4;
  if (zeros(0, 12) && !(v4[0] === 0 && v4[1] === 0 && v4[2] === 0)) return v4;
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12))
    return v4;
  return undefined;
}

export interface Cidr {
  readonly bytes: AddressBytes;
  readonly prefixBits: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const [address = "", bits, extra] = text.split("/");
  if (extra !== undefined) return undefined;
  const bytes = parseAddress(address);
  if (bytes === undefined) return undefined;
  const max = bytes.length * 8;
  if (bits === undefined) return { bytes, prefixBits: max };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return { bytes, prefixBits: Number(bits) };
}

export function inCidr(bytes: AddressBytes, cidr: Cidr): boolean {
  const candidate = bytes.length === cidr.bytes.length ? bytes : embeddedV4(bytes);
  if (candidate?.length !== cidr.bytes.length) return false;
  let bits = cidr.prefixBits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((candidate[i] ?? 0) & mask) !== ((cidr.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

const cidrs = (list: readonly string[]): readonly Cidr[] =>
  list.map((text) => {
    const cidr = parseCidr(text);
    if (cidr === undefined) throw new Error(`bad built-in CIDR ${text}`);
    return cidr;
  });

/** Addresses that are not the public internet: loopback, private, link-local (cloud metadata), and the like. */
const FORBIDDEN_V4 = cidrs([
  "0.0.0.0/8", // "this network"; 0.0.0.0 reaches the local host
  "10.0.0.0/8",
  "100.64.0.0/10", // carrier-grade NAT
  "127.0.0.0/8",
  "169.254.0.0/16", // link-local, including 169.254.169.254 (cloud metadata)
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "224.0.0.0/4", // multicast
  "240.0.0.0/4", // reserved and broadcast
]);
const LOOPBACK_V6 = cidrs(["::1/128"]);
const FORBIDDEN_V6 = cidrs([
  "::/128",
  "fc00::/7", // unique-local, including fd00:ec2::254 (AWS metadata over IPv6)
  "fe80::/10",
  "ff00::/8",
]);

/** Why an address is refused, or undefined for a public one. */
export function forbiddenReason(bytes: AddressBytes): string | undefined {
  const v4 = bytes.length === 4 ? bytes : embeddedV4(bytes);
  if (v4 !== undefined) {
    if (v4[0] === 169 && v4[1] === 254 && v4[2] === 169 && v4[3] === 254) return "a cloud metadata address";
    if (v4[0] === 127) return "a loopback address";
    return FORBIDDEN_V4.some((c) => inCidr(v4, c)) ? "a private, link-local or reserved address" : undefined;
  }
  if (LOOPBACK_V6.some((c) => inCidr(bytes, c))) return "a loopback address";
  return FORBIDDEN_V6.some((c) => inCidr(bytes, c)) ? "a private, link-local or reserved address" : undefined;
}

/** The operator's `allowPrivateNetworks`: CIDRs, single addresses, or host names (matched as written). */
export class AllowList {
  private readonly ranges: readonly Cidr[];
  private readonly hosts: ReadonlySet<string>;

  constructor(entries: readonly string[]) {
    const ranges: Cidr[] = [];
    const hosts = new Set<string>();
    for (const entry of entries) {
      const cidr = parseCidr(entry);
      if (cidr === undefined) hosts.add(entry.toLowerCase());
      else ranges.push(cidr);
    }
    this.ranges = ranges;
    this.hosts = hosts;
  }

  allowsHost(host: string): boolean {
    return this.hosts.has(host.toLowerCase());
  }

  allowsAddress(bytes: AddressBytes): boolean {
    return this.ranges.some((c) => inCidr(bytes, c));
  }
}

const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** An allow-list entry must be a CIDR, an address or a host name. */
export function isAllowListEntry(entry: string): boolean {
  return parseCidr(entry) !== undefined || HOST_NAME.test(entry);
}
