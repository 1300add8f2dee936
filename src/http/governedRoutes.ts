/**
 * Which governed endpoint a request is for, decided once, here, from the request target as sent; and the
 * upstream target built from that decision (CONTRACTS.md section 5: what reaches APIXO is what the gateway
 * decided).
 *
 * Only APIXO's documented spelling is governed: exact case, no trailing slash, no empty or dot segments, a model
 * id written plainly (no %-escapes), and for statusTask exactly one `taskId` (query.ts). Any other spelling of a
 * governed endpoint is refused with 400, never passed on, for three reasons:
 * - whether APIXO (or a CDN before it) folds case, drops a trailing slash or decodes `%2F` is unknown, so the
 *   gateway cannot know that its decision and APIXO's agree;
 * - a client that works through the gateway must keep working when pointed at APIXO directly (drop-in both ways),
 *   and a spelling that only the gateway's leniency made work would not;
 * - a variant that fell through to `server.allowedPaths` would be forwarded ungoverned.
 * The upstream request never carries the client's spelling anyway: src/apixo/endpoints.ts builds it.
 *
 * Matched with a few string checks instead of express's router (its per-request prototype swap and layer walk
 * were a tenth of the gateway's CPU and allocations in the profile: docs/benchmarks.md).
 */
import { BALANCE_PATH, STATUS_PREFIX, SUBMIT_PREFIX } from "../apixo/endpoints.js";
import { findModel, documentedSpelling } from "../apixo/models.js";
import { GatewayError } from "../errors/catalog.js";
import { assertNoQuery, statusTaskId } from "./query.js";

export type GovernedRoute =
  | { readonly operation: "submit"; readonly model: string }
  | { readonly operation: "status"; readonly model: string; readonly taskId: string }
  | { readonly operation: "balance" };

export type RouteMatch =
  | { readonly kind: "governed"; readonly route: GovernedRoute }
  /** A governed endpoint, asked for in a way whose meaning could differ upstream (or with the wrong method). */
  | { readonly kind: "refused"; readonly error: GatewayError }
  /** Not a governed endpoint in any spelling: health, callbacks, allowed paths, not found. */
  | { readonly kind: "other" };

const SUBMIT = SUBMIT_PREFIX;
const STATUS = STATUS_PREFIX;
const BALANCE = BALANCE_PATH;
const BALANCE_ROUTE: GovernedRoute = { operation: "balance" };
const OTHER: RouteMatch = { kind: "other" };

/** What a model id may be; the catalog's ids are all of this form (src/apixo/models.ts). */
const MODEL_ID = /^[A-Za-z0-9._~-]{1,128}$/;
/** An origin-form target's path and query; a fragment is never part of an HTTP request target. */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

interface Endpoint {
  readonly name: string;
  readonly method: "POST" | "GET";
  readonly spelling: string;
}
const ENDPOINTS = {
  generatetask: { name: "generateTask", method: "POST", spelling: "POST /api/v1/generateTask/{model}" },
  statustask: { name: "statusTask", method: "GET", spelling: "GET /api/v1/statusTask/{model}?taskId=<id>" },
  balance: { name: "current-balance", method: "GET", spelling: "GET /api/v1/apikeys/current-balance" },
} as const satisfies Record<string, Endpoint>;

export function matchGovernedRoute(method: string | undefined, url: string | undefined): RouteMatch {
  if (url === undefined) return OTHER;
  const target = url.startsWith("/") ? url : originFormOf(url);
  if (target === undefined) return OTHER;
  const hashAt = target.indexOf("#");
  const beforeHash = hashAt === -1 ? target : target.slice(0, hashAt);
  const queryAt = beforeHash.indexOf("?");
  const path = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt);
  const query = queryAt === -1 ? undefined : beforeHash.slice(queryAt + 1);
  let match: RouteMatch;
  try {
    match = exactMatch(method, path, query) ?? spellingVariant(method, path);
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    match = { kind: "refused", error: err };
  }
  // A fragment is never part of a request target (RFC 9112 section 3.2); readers differ on where it starts.
  if (hashAt !== -1 && match.kind !== "other") {
    return {
      kind: "refused",
      error: new GatewayError("INVALID_REQUEST", "The request target must not carry a '#' fragment."),
    };
  }
  return match;
}

/** The canonical spelling (the hot path); undefined when the path is not exactly one of them. */
function exactMatch(
  method: string | undefined,
  path: string,
  query: string | undefined,
): RouteMatch | undefined {
  if (method === "POST" && path.startsWith(SUBMIT)) {
    const model = modelOf(path.slice(SUBMIT.length));
    if (model === undefined) return undefined;
    assertNoQuery(query, "generateTask");
    return { kind: "governed", route: { operation: "submit", model } };
  }
  if (method !== "GET") return undefined;
  if (path === BALANCE) {
    assertNoQuery(query, "current-balance");
    return { kind: "governed", route: BALANCE_ROUTE };
  }
  if (!path.startsWith(STATUS)) return undefined;
  const model = modelOf(path.slice(STATUS.length));
  if (model === undefined) return undefined;
  return { kind: "governed", route: { operation: "status", model, taskId: statusTaskId(query) } };
}

/** A model segment as written, when it is a plain id; throws for a known model in another case. */
function modelOf(segment: string): string | undefined {
  if (!MODEL_ID.test(segment) || segment === "." || segment === "..") return undefined;
  if (findModel(segment) === undefined) {
    // Unknown ids are passed on as written (APIXO has models the table does not know), but a known model in
    // another case is refused: if APIXO folds case, it would run the model under an "unpriced" charge.
    const spelling = documentedSpelling(segment);
    if (spelling !== undefined) {
      throw new GatewayError(
        "INVALID_REQUEST",
        `Model ids are case-sensitive: write '${spelling}', not '${segment}'.`,
      );
    }
  }
  return segment;
}

/**
 * Any other spelling a lenient reader (a router that folds case, decodes escapes, resolves dot segments or
 * ignores a trailing slash) would take for a governed endpoint: refused, saying what to change.
 */
function spellingVariant(method: string | undefined, path: string): RouteMatch {
  const endpoint = lenientEndpoint(path, method);
  if (endpoint === undefined) return OTHER;
  if (method !== endpoint.method) {
    const error = new GatewayError("NOT_FOUND", `${endpoint.name} takes ${endpoint.method} only.`);
    return { kind: "refused", error };
  }
  return {
    kind: "refused",
    error: new GatewayError(
      "INVALID_REQUEST",
      `${spellingProblem(path)}; the gateway takes APIXO's spelling only: ${endpoint.spelling}.`,
    ),
  };
}

/**
 * The endpoint a lenient reader could take this path for: decoded and resolved, or as written (any case). When
 * the two differ, the one the method fits is named, so the refusal says what to fix.
 */
function lenientEndpoint(path: string, method: string | undefined): Endpoint | undefined {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // A malformed escape: judged on the raw text.
  }
  const resolved = endpointOf(segmentsOf(decoded, true));
  const written = endpointOf(segmentsOf(path, false));
  if (resolved !== undefined && (resolved.method === method || written === undefined)) return resolved;
  return written ?? resolved;
}

function segmentsOf(path: string, resolveDots: boolean): string[] {
  const segments: string[] = [];
  for (const segment of path.replaceAll("\\", "/").toLowerCase().split("/")) {
    if (segment === "" || (resolveDots && segment === ".")) continue;
    if (resolveDots && segment === "..") segments.pop();
    else segments.push(segment);
  }
  return segments;
}

function endpointOf([api, version, endpoint, sub]: readonly string[]): Endpoint | undefined {
  if (api !== "api" || version !== "v1") return undefined;
  if (endpoint === "generatetask") return ENDPOINTS.generatetask;
  if (endpoint === "statustask") return ENDPOINTS.statustask;
  if (endpoint === "apikeys" && sub === "current-balance") return ENDPOINTS.balance;
  return undefined;
}

/** The first thing that makes this spelling differ from APIXO's, as a clause; never echoes the path. */
function spellingProblem(path: string): string {
  if (/%2f|%5c/i.test(path)) return "The path holds an encoded separator (%2F or %5C)";
  if (path.includes("\\")) return "The path holds a backslash";
  if (path.includes("%")) return "The path holds %-escapes (APIXO's paths and model ids need none)";
  if (/\/\.{1,2}(\/|$)/.test(path)) return "The path holds a dot segment ('.' or '..')";
  if (path.includes("//")) return "The path holds an empty segment ('//')";
  if (path.endsWith("/")) return "The path ends with a slash (or names no model)";
  const lower = path.toLowerCase();
  if (lower === SUBMIT.slice(0, -1).toLowerCase() || lower === STATUS.slice(0, -1).toLowerCase()) {
    return "The path names no model";
  }
  const known = [SUBMIT, STATUS, BALANCE].find((prefix) => lower.startsWith(prefix.toLowerCase()));
  if (known !== undefined && !path.startsWith(known)) return "Paths are case-sensitive";
  if (known === BALANCE) return "The path goes on after current-balance";
  const after = known === undefined ? "" : path.slice(known.length);
  if (after.includes("/")) return "A model id is one path segment";
  if (known === undefined) return "The path is not APIXO's";
  return "The model id must be 1-128 letters, digits, '.', '_', '~' or '-'";
}

/** The path and query of an absolute-form target (`GET http://host/path`): the client never picks APIXO's host. */
export function originFormOf(url: string): string | undefined {
  const authority = ABSOLUTE_FORM.exec(url);
  if (authority === null) return undefined;
  const rest = url.slice(authority[0].length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}
