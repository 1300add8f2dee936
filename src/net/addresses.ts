/**
 * Which IP addresses the gateway treats as "not the public internet", for the two places a tenant hands it a
 * URL: callback URLs (the gateway itself connects) and media URLs in a submit's `input` (APIXO fetches them).
 * One checker for both, so they can never disagree about an address.
 *
 * Parsing and range matching are ipaddr.js's (the library express's proxy-addr relies on); what is written here
 * is only the policy: which of its special ranges are refused, and the IPv6 forms that carry an IPv4 address
 * (mapped, compatible, 6to4, NAT64, Teredo), which are judged by the address they embed.
 *
 * Pure: no I/O, no imports from higher layers (the dependency rule in .dependency-cruiser.cjs enforces it).
 */
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * An IP address as written in a URL host, a DNS answer or the operator's allow-list: dotted-quad IPv4 or IPv6,
 * optionally in brackets, optionally with a zone id. Strict on purpose (node's isIP): ipaddr.js alone would also
 * read "2130706433" or "0x7f.1" as addresses, and in an allow-list such text is a typo, not a network.
 */
export function parseIp(text: string): IpAddress | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const [address = "", zone] = bare.split("%");
  const family = isIP(address);
  if (family === 0) return undefined;
  // A zone id (fe80::1%eth0) names an interface, not part of the address; only IPv6 has them.
  if (zone !== undefined && (family !== 6 || !/^[\w.-]{1,64}$/.test(zone))) return undefined;
  if (family === 4) return ipaddr.IPv4.parse(address);
  // Through the WHATWG serializer first, which writes every IPv6 address in hex: ipaddr.js reads the dotted
  // IPv4-compatible form "::127.0.0.1" as the mapped "::ffff:127.0.0.1", so "::8.8.8.8" and "::808:808" would
  // be judged differently.
  return ipaddr.IPv6.parse(new URL(`http://[${address}]/`).hostname.slice(1, -1));
}

const v6Cidr = (text: string): [ipaddr.IPv6, number] => ipaddr.IPv6.parseCIDR(text);

/** Instance metadata endpoints, named in the refusal because they are what an SSRF attempt is usually after. */
const METADATA = new Set([
  "169.254.169.254", // AWS, GCP, Azure, DigitalOcean, OpenStack
  "169.254.170.2", // AWS ECS task metadata
  "100.100.100.200", // Alibaba Cloud
  "192.0.0.192", // Oracle Cloud
  "fd00:ec2::254", // AWS over IPv6
]);

const V4_REASONS: Readonly<Record<string, string>> = {
  unspecified: "an unspecified address (0.0.0.0/8 reaches the local host)",
  loopback: "a loopback address",
  private: "a private address (RFC 1918)",
  linkLocal: "a link-local address",
  carrierGradeNat: "a carrier-grade NAT address (RFC 6598)",
};
const V6_REASONS: Readonly<Record<string, string>> = {
  unspecified: "the unspecified address",
  loopback: "a loopback address",
  uniqueLocal: "a unique-local (private) address",
  deprecatedSiteLocal: "a site-local (private) address",
  linkLocal: "a link-local address",
};
const SPECIAL = "a reserved or special-purpose address";

/** RFC 8215's local-use NAT64 prefix: a network's own translator, never a public destination. */
const NAT64_LOCAL = v6Cidr("64:ff9b:1::/48");
const NAT64_WELL_KNOWN = v6Cidr("64:ff9b::/96");
/** ::a.b.c.d (RFC 4291, deprecated); ipaddr.js reports it as plain unicast. */
const V4_COMPATIBLE = v6Cidr("::/96");

function v4Reason(address: ipaddr.IPv4): string | undefined {
  if (METADATA.has(address.toString())) return "a cloud metadata address";
  const range = address.range();
  if (range === "unicast") return undefined;
  return V4_REASONS[range] ?? SPECIAL;
}

const fromParts = (high: number, low: number): ipaddr.IPv4 =>
  new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);

interface Embedded {
  /** How the message names the form. */
  readonly form: string;
  /** Judged in order; the first refused one refuses the whole address. */
  readonly inner: readonly ipaddr.IPv4[];
  /** A form no network routes any more: refused even around a public address. */
  readonly deprecated?: string;
}

/** The IPv4 addresses an IPv6 address stands for; undefined for a native IPv6 address. */
function embedded(address: ipaddr.IPv6): Embedded | undefined {
  const p = address.parts;
  const last = fromParts(p[6] ?? 0, p[7] ?? 0);
  switch (address.range()) {
    case "ipv4Mapped":
      return { form: "an IPv4-mapped address", inner: [last] };
    case "rfc6145":
      return { form: "an IPv4-translated address", inner: [last] };
    case "6to4":
      return { form: "a 6to4 address", inner: [fromParts(p[1] ?? 0, p[2] ?? 0)] };
    case "teredo": {
      // RFC 4380: the Teredo server's address, then (inverted) the client's, which is where packets go.
      const server = fromParts(p[2] ?? 0, p[3] ?? 0);
      const client = fromParts(~(p[6] ?? 0) & 0xffff, ~(p[7] ?? 0) & 0xffff);
      return { form: "a Teredo address", inner: [client, server] };
    }
    case "rfc6052":
      return address.match(NAT64_WELL_KNOWN) ? { form: "a NAT64 address", inner: [last] } : undefined;
    case "unicast":
      return address.match(V4_COMPATIBLE)
        ? {
            form: "an IPv4-compatible address",
            inner: [last],
            deprecated: "a deprecated IPv4-compatible address (RFC 4291)",
          }
        : undefined;
    default:
      return undefined;
  }
}

/**
 * Why `address` is not a public destination, or undefined when it is. Refused: everything ipaddr.js does not
 * call global unicast (loopback, private, link-local, CGNAT, unspecified, multicast, broadcast, documentation,
 * benchmarking and other special ranges), the local-use NAT64 prefix, IPv4-compatible addresses, and any IPv6
 * form (mapped, translated, 6to4, NAT64, Teredo) whose embedded IPv4 address is refused.
 */
export function refusalReason(address: IpAddress): string | undefined {
  if (address.kind() === "ipv4") return v4Reason(address as ipaddr.IPv4);
  const v6 = address as ipaddr.IPv6;
  if (METADATA.has(new ipaddr.IPv6(v6.parts).toString())) return "a cloud metadata address";
  const wrapped = embedded(v6);
  if (wrapped !== undefined) {
    for (const inner of wrapped.inner) {
      const reason = v4Reason(inner);
      if (reason !== undefined) return `${wrapped.form} of ${inner.toString()}, ${reason}`;
    }
    return wrapped.deprecated;
  }
  const range = v6.range();
  if (range === "unicast") return undefined;
  if (v6.match(NAT64_LOCAL)) return "a local-use NAT64 address (RFC 8215)";
  return V6_REASONS[range] ?? SPECIAL;
}

/** The IPv4 address an IPv6 one embeds, for matching it against the allow-list's IPv4 ranges. */
function innerV4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  return embedded(address)?.inner[0];
}

type Range = [IpAddress, number];

function parseRange(text: string): Range | undefined {
  const [address = "", bits, extra] = text.split("/");
  if (extra !== undefined) return undefined;
  const parsed = parseIp(address);
  if (parsed === undefined) return undefined;
  const max = parsed.kind() === "ipv4" ? 32 : 128;
  if (bits === undefined) return [parsed, max];
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return [parsed, Number(bits)];
}

function inRange(address: IpAddress, [network, bits]: Range): boolean {
  if (address.kind() === network.kind()) return address.match(network, bits);
  if (address.kind() === "ipv6") {
    return innerV4(address as ipaddr.IPv6)?.match(network, bits) === true;
  }
  return (address as ipaddr.IPv4).toIPv4MappedAddress().match(network, bits);
}

const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** A last label URL parsers read as a number ("2130706433", "0x7f"): such a host is an address, never a name. */
const NUMERIC_LAST_LABEL = /(?:^|\.)(?:\d+|0x[0-9a-f]*)\.?$/i;

/** An allow-list entry must be a CIDR, an address or a host name. */
export function isAllowListEntry(entry: string): boolean {
  if (parseRange(entry) !== undefined) return true;
  return HOST_NAME.test(entry) && !NUMERIC_LAST_LABEL.test(entry);
}

const canonicalName = (host: string): string => host.toLowerCase().replace(/\.$/, "");

/** The operator's `allowPrivateNetworks`: CIDRs, single addresses, or host names (matched as written). */
export class AllowList {
  private readonly ranges: readonly Range[];
  private readonly hosts: ReadonlySet<string>;

  constructor(entries: readonly string[]) {
    const ranges: Range[] = [];
    const hosts = new Set<string>();
    for (const entry of entries) {
      const range = parseRange(entry);
      if (range === undefined) hosts.add(canonicalName(entry));
      else ranges.push(range);
    }
    this.ranges = ranges;
    this.hosts = hosts;
  }

  allowsHost(host: string): boolean {
    return this.hosts.has(canonicalName(host));
  }

  /** An IPv4 range also covers that range's IPv6 forms (mapped, 6to4, ...), as refusalReason judges them. */
  allowsAddress(address: IpAddress): boolean {
    return this.ranges.some((range) => inRange(address, range));
  }
}

export const NO_EXCEPTIONS = new AllowList([]);

const built = new WeakMap<readonly string[], AllowList>();

/** The AllowList for a config's entries, built once per loaded config (the array is the config's own). */
export function allowListOf(entries: readonly string[]): AllowList {
  if (entries.length === 0) return NO_EXCEPTIONS;
  let list = built.get(entries);
  if (list === undefined) {
    list = new AllowList(entries);
    built.set(entries, list);
  }
  return list;
}
