/**
 * The literal check of a URL a tenant gives the gateway (a media URL for APIXO to fetch, or a callback URL):
 * its scheme, its spelling and its host as written. No DNS here (see checkTenantUrl in callbacks/urlGuard.ts for
 * the callback path, which also resolves). Pure.
 */
import { isIPv4 } from "node:net";
import { parseIp, refusalReason, type AllowList, type IpAddress } from "./addresses.js";

export interface UrlRules {
  /** Allowed schemes, as URL.protocol spells them ("https:"). */
  readonly schemes: readonly string[];
  readonly allowList: AllowList;
}

export type UrlVerdict =
  | { readonly ok: true; readonly url: URL; readonly host: string; readonly address?: IpAddress }
  /** `reason` completes a sentence that starts with the field's name: "input.image_urls[0] <reason>". */
  | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): UrlVerdict => ({ ok: false, reason });

/**
 * Names that never lead to the public internet: localhost (RFC 6761), mDNS's .local (RFC 6762), .home.arpa
 * (RFC 8375), .internal (reserved by ICANN for private use, e.g. metadata.google.internal) and .localdomain
 * (/etc/hosts convention). Single-label names resolve only through a local search domain.
 */
const LOCAL_SUFFIXES = ["localhost", "local", "internal", "home.arpa", "localdomain"];

function localNameReason(name: string): string | undefined {
  const suffix = LOCAL_SUFFIXES.find((s) => name === s || name.endsWith(`.${s}`));
  if (suffix !== undefined) return `a local-only name (.${suffix})`;
  if (!name.includes(".")) return "a single-label name, which resolves only inside a local network";
  return undefined;
}

/**
 * Whitespace and control characters are dropped or kept by different URL parsers; a backslash is a path
 * separator to WHATWG (node) but part of the authority to others, so `http://a.example\@10.0.0.1/` would be
 * checked as one host and fetched from another. Refused rather than guessed.
 */
// eslint-disable-next-line no-control-regex
const AMBIGUOUS = /[\u0000-\u0020\u007f\\]/;

/** The host exactly as the client wrote it: between "//" (after the last "@") and the port, path or query. */
function writtenHost(raw: string): string {
  const rest = raw.slice(raw.indexOf("//") + 2);
  const authority = rest.split(/[/?#]/, 1)[0] ?? "";
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
  if (hostPort.startsWith("[")) return hostPort.slice(0, hostPort.indexOf("]") + 1);
  const colon = hostPort.lastIndexOf(":");
  return colon === -1 ? hostPort : hostPort.slice(0, colon);
}

/** "http(s)" for both, else the names: what a message asks for. */
function schemeNames(schemes: readonly string[]): string {
  const names = schemes.map((s) => s.replace(/:$/, ""));
  return names.length === 2 && names.includes("http") && names.includes("https")
    ? "http(s)"
    : names.join(" or ");
}

/**
 * Checks `raw` without resolving it: an allowed scheme, no credentials, no ambiguous characters, an IPv4 host
 * only as four decimal numbers (node reads `2130706433`, `0x7f.1` and `010.0.0.1` as addresses; other parsers
 * read them differently or as names), and a host that is neither a local-only name nor an address
 * refusalReason refuses, unless the allow-list names that host or covers that address.
 */
export function checkUrlLiterally(raw: string, rules: UrlRules): UrlVerdict {
  const schemes = schemeNames(rules.schemes);
  // Exactly two slashes: node reads "https:///a.example" as host a.example, others as an empty host.
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/\\]/i.test(raw) || !URL.canParse(raw)) {
    return refuse(`must be an ${schemes} URL`);
  }
  const url = new URL(raw);
  if (!rules.schemes.includes(url.protocol)) return refuse(`must be an ${schemes} URL`);
  if (AMBIGUOUS.test(raw)) return refuse("must not contain spaces, control characters or backslashes");
  if (url.username !== "" || url.password !== "") return refuse("must not carry a user name or password");
  const host = url.hostname;
  if (host === "") return refuse(`must be an ${schemes} URL`);
  if (isIPv4(host) && writtenHost(raw).toLowerCase() !== host) {
    return refuse(
      "writes its IPv4 host in a non-standard form (decimal, octal, hex, shortened or encoded); " +
        "write it as four decimal numbers",
    );
  }
  const address = parseIp(host);
  if (address === undefined) {
    const name = host.replace(/\.$/, "");
    const reason = localNameReason(name);
    if (reason !== undefined && !rules.allowList.allowsHost(name))
      return refuse(`points at ${name}, ${reason}`);
    return { ok: true, url, host: name };
  }
  const bare = host.replace(/^\[|\]$/g, "");
  const reason = refusalReason(address);
  if (reason !== undefined && !rules.allowList.allowsAddress(address)) {
    return refuse(`points at ${bare}, ${reason}`);
  }
  return { ok: true, url, host: bare, address };
}
