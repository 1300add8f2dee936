import { findModel } from "./models.js";

/**
 * APIXO's three endpoints, spelled once. The gateway matches clients against these prefixes
 * (src/http/governedRoutes.ts) and always calls APIXO at the canonical target built here from what it decided:
 * the operation, the canonical model id and the checked task id, never the client's spelling.
 */
export const SUBMIT_PREFIX = "/api/v1/generateTask/";
export const STATUS_PREFIX = "/api/v1/statusTask/";
export const BALANCE_PATH = "/api/v1/apikeys/current-balance";

/** The endpoints as route templates (OTel `http.route` / `url.template`): low-cardinality span names. */
export const ROUTE_TEMPLATES = {
  submit: `${SUBMIT_PREFIX}{model}`,
  status: `${STATUS_PREFIX}{model}`,
  balance: BALANCE_PATH,
} as const;

/** Where a call goes on APIXO: method, path and query (already encoded, without `?`). */
export interface ApixoTarget {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly query: string;
}

/** The canonical id of a model name (aliases resolve), or the name itself for models the table does not know. */
export function canonicalModel(name: string): string {
  return findModel(name)?.id ?? name;
}

export function submitTarget(model: string): ApixoTarget {
  return { method: "POST", path: SUBMIT_PREFIX + encodeURIComponent(required(model, "model")), query: "" };
}

export function statusTarget(model: string, taskId: string): ApixoTarget {
  return {
    method: "GET",
    path: STATUS_PREFIX + encodeURIComponent(required(model, "model")),
    query: `taskId=${encodeURIComponent(required(taskId, "taskId"))}`,
  };
}

export const BALANCE_TARGET: ApixoTarget = { method: "GET", path: BALANCE_PATH, query: "" };

function required(value: string, what: string): string {
  if (value === "") throw new Error(`APIXO target without a ${what}`);
  return value;
}
