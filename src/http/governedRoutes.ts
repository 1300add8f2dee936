/**
 * The three governed endpoints carry nearly all of the gateway's traffic, so they are matched here with a few
 * string checks instead of express's router (which, with its per-request prototype swap and layer walk, was a
 * tenth of the gateway's CPU and allocations in the profile: docs/benchmarks.md).
 *
 * Only the canonical spelling is taken: exact case, no trailing slash, a model id with no percent-escapes.
 * Anything else falls through to express, whose routes for the same endpoints are still registered, so every
 * spelling express accepted is still accepted, and the model it decodes is the same.
 */
export type GovernedRoute =
  { readonly operation: "submit" | "status"; readonly model: string } | { readonly operation: "balance" };

const SUBMIT = "/api/v1/generateTask/";
const STATUS = "/api/v1/statusTask/";
const BALANCE = "/api/v1/apikeys/current-balance";
const BALANCE_ROUTE: GovernedRoute = { operation: "balance" };

/** A path segment that express would hand over unchanged (nothing to decode, no separator). */
const PLAIN_SEGMENT = /^[A-Za-z0-9._~-]+$/;

export function matchGovernedRoute(
  method: string | undefined,
  url: string | undefined,
): GovernedRoute | undefined {
  if (url === undefined) return undefined;
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  if (method === "POST") {
    const model = segmentAfter(path, SUBMIT);
    return model === undefined ? undefined : { operation: "submit", model };
  }
  if (method !== "GET") return undefined;
  if (path === BALANCE) return BALANCE_ROUTE;
  const model = segmentAfter(path, STATUS);
  return model === undefined ? undefined : { operation: "status", model };
}

function segmentAfter(path: string, prefix: string): string | undefined {
  if (!path.startsWith(prefix)) return undefined;
  const rest = path.slice(prefix.length);
  return PLAIN_SEGMENT.test(rest) && rest !== "." && rest !== ".." ? rest : undefined;
}
