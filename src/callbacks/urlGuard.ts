import { Resolver } from "node:dns/promises";
import { parseIp, refusalReason, type AllowList } from "../net/addresses.js";
import { checkUrlLiterally } from "../net/urls.js";

/** One resolved address, as dns.lookup({all: true}) gives it. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Name resolution, injectable so tests resolve names locally (no outside traffic). */
export type HostResolver = (host: string) => Promise<readonly ResolvedAddress[]>;

const DNS_TIMEOUT_MS = 2_000;

/**
 * Tenants' host names are resolved over DNS (c-ares) with a timeout, not with getaddrinfo: a slow,
 * tenant-controlled name server could otherwise hold libuv's four threads that the gateway's own upstream
 * connections also need. Names only in /etc/hosts do not resolve here, which keeps internal names out too.
 */
export const systemResolver: HostResolver = async (host) => {
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: 2 });
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  const found: ResolvedAddress[] = [
    ...(v4.status === "fulfilled" ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
    ...(v6.status === "fulfilled" ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
  ];
  if (found.length === 0) throw new Error(`${host} does not resolve`);
  return found;
};

export interface UrlPolicy {
  readonly allowHttp: boolean;
  readonly allowList: AllowList;
  readonly resolve: HostResolver;
}

export type UrlCheck =
  | { readonly ok: true; readonly url: URL; readonly addresses: readonly ResolvedAddress[] }
  | { readonly ok: false; readonly message: string };

const refuse = (message: string): UrlCheck => ({ ok: false, message });
const PUBLIC_ONLY = "callbacks go only to public addresses.";

/**
 * Whether the gateway may POST to a tenant's callback URL, and the addresses it may connect to. The URL is
 * first checked as written (the same check media URLs get, src/net/urls.ts); a host name is then resolved, and
 * every address it resolves to must be public (or allow-listed): one private answer is enough for a rebinding
 * attack. The caller connects only to the returned addresses, so a second, different DNS answer is never used.
 * Unlike media URLs (fetched by APIXO), here the gateway itself connects, so resolving is the point.
 */
export async function checkTenantUrl(raw: string, policy: UrlPolicy): Promise<UrlCheck> {
  const { allowList } = policy;
  const literal = checkUrlLiterally(raw, {
    schemes: policy.allowHttp ? ["https:", "http:"] : ["https:"],
    allowList,
  });
  if (!literal.ok) {
    const hint = literal.reason.startsWith("points at") ? `; ${PUBLIC_ONLY}` : ".";
    return refuse(`callback_url ${literal.reason}${hint}`);
  }
  const { url, host } = literal;
  if (literal.address !== undefined) {
    const family = literal.address.kind() === "ipv4" ? 4 : 6;
    return { ok: true, url, addresses: [{ address: host, family }] };
  }
  let addresses: readonly ResolvedAddress[];
  try {
    addresses = await policy.resolve(host);
  } catch {
    return refuse(`callback_url host '${host}' does not resolve.`);
  }
  if (addresses.length === 0) return refuse(`callback_url host '${host}' does not resolve.`);
  if (allowList.allowsHost(host)) return { ok: true, url, addresses };
  for (const { address } of addresses) {
    const parsed = parseIp(address);
    if (parsed === undefined) return refuse(`callback_url host '${host}' resolves to an unreadable address.`);
    const reason = refusalReason(parsed);
    if (reason !== undefined && !allowList.allowsAddress(parsed)) {
      return refuse(`callback_url host '${host}' resolves to ${address}, ${reason}; ${PUBLIC_ONLY}`);
    }
  }
  return { ok: true, url, addresses };
}
