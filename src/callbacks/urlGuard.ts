import { Resolver } from "node:dns/promises";
import { forbiddenReason, parseAddress, type AllowList } from "./addresses.js";

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

/**
 * Whether the gateway may POST to a tenant's callback URL, and the addresses it may connect to. Every address
 * the name resolves to must be public (or allow-listed): one private answer is enough for a rebinding attack.
 * The caller connects only to the returned addresses, so a second, different DNS answer is never used.
 */
export async function checkTenantUrl(raw: string, policy: UrlPolicy): Promise<UrlCheck> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse("callback_url is not a valid URL.");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && policy.allowHttp)) {
    return refuse("callback_url must use https.");
  }
  if (url.username !== "" || url.password !== "") {
    return refuse("callback_url must not carry a user name or password.");
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const literal = parseAddress(host);
  const hostAllowed = policy.allowList.allowsHost(host);
  let addresses: readonly ResolvedAddress[];
  if (literal !== undefined) addresses = [{ address: host, family: literal.length === 4 ? 4 : 6 }];
  else {
    try {
      addresses = await policy.resolve(host);
    } catch {
      return refuse(`callback_url host '${host}' does not resolve.`);
    }
    if (addresses.length === 0) return refuse(`callback_url host '${host}' does not resolve.`);
  }
  if (hostAllowed) return { ok: true, url, addresses };
  for (const { address } of addresses) {
    const bytes = parseAddress(address);
    if (bytes === undefined) return refuse(`callback_url host '${host}' resolves to an unreadable address.`);
    const reason = forbiddenReason(bytes);
    if (reason !== undefined && !policy.allowList.allowsAddress(bytes)) {
      return refuse(
        `callback_url host '${host}' resolves to ${address}, ${reason}; callbacks go only to public addresses.`,
      );
    }
  }
  return { ok: true, url, addresses };
}
