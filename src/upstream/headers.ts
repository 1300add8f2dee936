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

/**
 * The usual `Connection` values, answered without a new Set on every request: `keep-alive` names a field that is
 * hop-by-hop anyway, `close` one no message carries.
 */
const USUAL: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["keep-alive", NONE],
  ["close", new Set(["close"])],
]);

function connectionListed(headers: IncomingHttpHeaders): ReadonlySet<string> {
  const value = headers.connection;
  if (value === undefined) return NONE;
  return (
    USUAL.get(value.toLowerCase()) ?? new Set(value.split(",").map((token) => token.trim().toLowerCase()))
  );
}

/** The client's headers as sent upstream: minus what must not pass, plus the gateway's own (`set` wins). */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  set: Readonly<Record<string, string>>,
): OutgoingHttpHeaders {
  const listed = connectionListed(incoming);
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || HOP_BY_HOP.has(name) || NOT_UPSTREAM.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return Object.assign(out, set);
}

/** The upstream response headers a client may see, in a new object. */
export function downstreamHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionListed(upstream);
  const out: OutgoingHttpHeaders = {};
  // for...in rather than Object.entries: no array of pairs per answer (Node's header objects own every field).
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP.has(name) || NOT_DOWNSTREAM.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}
