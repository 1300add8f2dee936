import { formatUsd, microsToUsd } from "../apixo/prices.js";
import { capResetMs, localIso } from "../limits/days.js";
import type { ProtectionConfig } from "../config/protection.js";
import { GatewayError } from "../errors/catalog.js";
import { isOverloaded, isStoreDown, type StoreDown } from "../limits/governor.js";
import type { Overloaded } from "../limits/gate.js";
import type { AccountDenial, CapWindow, RateInfo, SimpleDecision, SubmitDecision } from "../limits/store.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { RequestContext } from "./context.js";

/**
 * Every "no" a governed route answers, worded once: the store's decisions (values) become the catalog's errors
 * here, with the headers that go with them.
 */

/** IETF RateLimit fields for the bucket that applied. */
export function setRateHeaders(ctx: RequestContext, rate: RateInfo): void {
  ctx.headers["RateLimit-Limit"] = String(rate.limit);
  ctx.headers["RateLimit-Remaining"] = String(Math.max(0, rate.remaining));
  ctx.headers["RateLimit-Reset"] = String(Math.max(0, rate.resetSec));
}

type Denial =
  | Extract<SubmitDecision, { kind: "rate_limited" | "concurrency_limited" | "spend_cap" }>
  | Extract<SimpleDecision, { kind: "rate_limited" }>;

function denialError(denial: Denial, tenantId: string, operation: string, timeZone: string): GatewayError {
  switch (denial.kind) {
    case "rate_limited":
      return new GatewayError(
        "RATE_LIMITED",
        `Rate limit exceeded for tenant '${tenantId}' (${operation}): retry in ${denial.retryAfterSec} s`,
        { retryAfterSec: denial.retryAfterSec },
      );
    case "concurrency_limited":
      return new GatewayError(
        "CONCURRENCY_LIMITED",
        `Tenant '${tenantId}' has ${denial.inFlight} tasks in flight, its limit is ${denial.limit}: ` +
          `retry in ${denial.retryAfterSec} s, when earlier tasks have finished`,
        { retryAfterSec: denial.retryAfterSec },
      );
    case "spend_cap":
      return spendCapError(denial, tenantId, timeZone);
  }
}

const WINDOW_WORDS: Readonly<Record<CapWindow, { readonly name: string; readonly spent: string }>> = {
  daily: { name: "Daily spend cap", spent: "today" },
  monthly: { name: "Monthly spend cap", spent: "this month" },
  model_daily: { name: "Daily spend cap for this model", spent: "on it today" },
  user_daily: { name: "Daily spend cap for this user (X-Gateway-User)", spent: "by the user today" },
};

/** 402: which window refused, the figures, and when the window starts afresh (the tenant's local time). */
function spendCapError(
  denial: Extract<SubmitDecision, { kind: "spend_cap" }>,
  tenantId: string,
  timeZone: string,
): GatewayError {
  const words = WINDOW_WORDS[denial.window];
  const resetsAt = localIso(timeZone, capResetMs(timeZone, denial.window, denial.day));
  return new GatewayError(
    "SPEND_CAP_EXCEEDED",
    `${words.name} reached for tenant '${tenantId}': cap ${formatUsd(denial.capMicros)}, ` +
      `spent ${formatUsd(denial.spentMicros)} ${words.spent}, this request ${formatUsd(denial.costMicros)}. ` +
      `It resets at ${resetsAt} (${timeZone}); ask your platform team to raise it.`,
    {
      details: {
        window: denial.window,
        capUsd: microsToUsd(denial.capMicros),
        spentUsd: microsToUsd(denial.spentMicros),
        costUsd: microsToUsd(denial.costMicros),
        resetsAt,
      },
    },
  );
}

/** A tenant-level denial on the way out: the bucket's headers, the decision for the audit line, the error. */
export function deny(ctx: RequestContext, denial: Denial, operation: string): GatewayError {
  setRateHeaders(ctx, denial.rate);
  const tenant = ctx.policy?.tenant;
  ctx.facts.decisions.push(denial.kind === "spend_cap" ? "spend_cap" : denial.kind);
  // Which cap refused: spend_cap_rejections_total{window} tells the monthly cap's refusals from the daily one's.
  if (denial.kind === "spend_cap") ctx.facts.capWindow = denial.window;
  return denialError(denial, tenant?.id ?? "unknown", operation, tenant?.timeZone ?? "UTC");
}

/**
 * 429 because the shared APIXO account, not the tenant, is at its limit: said so in the message, counted as
 * `account_limited_total{upstream, reason}`, with the account bucket's RateLimit headers.
 */
export function denyForAccount(
  ctx: RequestContext,
  events: GatewayEvents,
  denial: AccountDenial,
): GatewayError {
  setRateHeaders(ctx, denial.rate);
  ctx.facts.decisions.push(`account_limited_${denial.reason}`);
  events.accountLimited({ upstream: denial.upstream, reason: denial.reason });
  const { account }: ProtectionConfig = ctx.snapshot.config.upstream.protection;
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

export function limitsUnavailable(down: StoreDown): GatewayError {
  return new GatewayError(
    "LIMITS_UNAVAILABLE",
    "The gateway cannot check limits right now (limit store unreachable); retry shortly.",
    { retryAfterSec: 1, cause: down.cause },
  );
}

export function overloaded(ctx: RequestContext): GatewayError {
  ctx.facts.decisions.push("overloaded");
  return new GatewayError(
    "OVERLOADED",
    "The gateway is overloaded and did not take this request (nothing was reserved or charged); retry shortly.",
    { retryAfterSec: 1 },
  );
}

/**
 * A decision that cannot be made without the store (whose task is this, what has this tenant spent): a down
 * store is 503 whatever the failure policy says, and an overload is shed.
 */
export function decided<T>(ctx: RequestContext, result: T | StoreDown | Overloaded): T {
  if (isOverloaded(result)) throw overloaded(ctx);
  if (isStoreDown(result)) throw limitsUnavailable(result);
  return result;
}
