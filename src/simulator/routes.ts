import type { SimEndpoint } from "./types.js";

/** Where a request is going, decided once so stats, faults and dispatch agree. */
export interface Route {
  readonly endpoint: SimEndpoint | "other";
  readonly model: string;
  readonly method: string;
}

const GENERATE_PREFIX = "/api/v1/generateTask/";
const STATUS_PREFIX = "/api/v1/statusTask/";
const BALANCE_PATH = "/api/v1/apikeys/current-balance";

const MODEL_ROUTES = [
  [GENERATE_PREFIX, "generateTask", "POST"],
  [STATUS_PREFIX, "statusTask", "GET"],
] as const;

export function route(pathname: string): Route {
  for (const [prefix, endpoint, method] of MODEL_ROUTES) {
    if (pathname.startsWith(prefix)) {
      const model = pathname.slice(prefix.length);
      if (model !== "" && !model.includes("/")) return { endpoint, model, method };
    }
  }
  if (pathname === BALANCE_PATH) return { endpoint: "balance", model: "", method: "GET" };
  return { endpoint: "other", model: "", method: "" };
}

export function bearerKey(header: string | undefined): string | undefined {
  // The auth scheme name is case-insensitive (RFC 9110), the key itself is not.
  if (header?.slice(0, 7).toLowerCase() !== "bearer ") return undefined;
  const key = header.slice(7).trim();
  return key === "" ? undefined : key;
}
