import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/** RFC 9110 section 7.6.1 connection-specific fields, plus the ones proxies traditionally drop. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Never sent upstream: the tenant's credentials and cookies, and what only the gateway may assert. */
const NOT_UPSTREAM = new Set(["authorization", "cookie", "x-forwarded-for", "x-forwarded-host", "forwarded"]);

/** Never sent to the client: upstream cookies, and framing the gateway recomputes. */
const NOT_DOWNSTREAM = new Set(["set-cookie", "content-length", "x-request-id"]);

const NONE: ReadonlySet<string> = new Set();

function connectionListed(headers: IncomingHttpHeaders): ReadonlySet<string> {
  const value = headers.connection;
  if (value === undefined) return NONE;
  return new Set(value.split(",").map((token) => token.trim().toLowerCase()));
}

/** The client's headers as sent upstream: minus what must not pass, plus the gateway's own (`set` wins). */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  set: Readonly<Record<string, string>>,
): OutgoingHttpHeaders {
  const listed = connectionListed(incoming);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || NOT_UPSTREAM.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return Object.assign(out, set);
}

/** The upstream response headers a client may see. */
export function downstreamHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionListed(upstream);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || HOP_BY_HOP.has(name) || NOT_DOWNSTREAM.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}
