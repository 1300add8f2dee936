import type { ServerResponse } from "node:http";
import { GatewayError } from "../errors/catalog.js";
import type { RequestContext } from "../http/context.js";
import type { AccountDenial } from "../limits/store.js";
import { setRateHeaders } from "./denials.js";
import type { ProxyDeps } from "./deps.js";

/**
 * 429 because the shared APIXO account, not the tenant, is at its limit: said so in the message, counted as
 * `account_limited_total{upstream, reason}`, with the account bucket's RateLimit headers.
 */
export function accountDeniedError(
  deps: ProxyDeps,
  ctx: RequestContext,
  res: ServerResponse,
  denial: AccountDenial,
): GatewayError {
  setRateHeaders(res, denial.rate);
  ctx.decisions.push(`account_limited_${denial.reason}`);
  deps.events.accountLimited({ upstream: denial.upstream, reason: denial.reason });
  const { account } = ctx.snapshot.config.upstream.protection;
  if (denial.reason === "rate") {
    return new GatewayError(
      "RATE_LIMITED",
      `The shared APIXO account is at its request limit (${account.requestsPerMinute ?? 0} requests/minute ` +
        `across all tenants): retry in ${denial.retryAfterSec} s`,
      { retryAfterSec: denial.retryAfterSec },
    );
  }
  return new GatewayError(
    "CONCURRENCY_LIMITED",
    `The shared APIXO account has ${account.maxInFlightTasks ?? 0} tasks in flight, its limit across all ` +
      `tenants: retry in ${denial.retryAfterSec} s, when earlier tasks have finished`,
    { retryAfterSec: denial.retryAfterSec },
  );
}
