import { GatewayError } from "../errors/catalog.js";
import type { Attribution } from "../limits/store.js";
import type { RequestContext } from "./context.js";

/**
 * X-Gateway-User and X-Gateway-Feature (CONTRACTS.md section 5): who inside the tenant a submit's money is
 * spent for. Optional; a value must be 1-128 visible ASCII characters, or the request is refused with 400
 * before anything is reserved. Never forwarded to APIXO (the upstream request is built from the call alone).
 */

export const USER_HEADER = "x-gateway-user";
export const FEATURE_HEADER = "x-gateway-feature";

const VALUE = /^[\x21-\x7e]{1,128}$/;

export interface AttributionHeaders {
  readonly user: string | string[] | undefined;
  readonly feature: string | string[] | undefined;
}

function checked(name: string, value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !VALUE.test(value)) {
    throw new GatewayError(
      "INVALID_REQUEST",
      `${name} must be one value of 1-128 visible ASCII characters (no spaces).`,
    );
  }
  return value;
}

/** The checked attribution, also kept for the request's audit line. */
export function attributionOf(ctx: RequestContext, headers: AttributionHeaders): Attribution {
  const user = checked("X-Gateway-User", headers.user);
  const feature = checked("X-Gateway-Feature", headers.feature);
  ctx.facts.endUser = user;
  ctx.facts.feature = feature;
  return { ...(user === undefined ? {} : { user }), ...(feature === undefined ? {} : { feature }) };
}
