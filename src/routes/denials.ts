import type { ServerResponse } from "node:http";
import { formatUsd } from "../apixo/prices.js";
import { GatewayError } from "../errors/catalog.js";
import type { RateInfo, SubmitDecision, SimpleDecision } from "../limits/store.js";
import type { RequestContext } from "../http/context.js";
import type { RejectionReason } from "../telemetry/events.js";

/** IETF RateLimit fields for the bucket that applied. */
export function setRateHeaders(res: ServerResponse, rate: RateInfo): void {
  res.setHeader("RateLimit-Limit", String(rate.limit));
  res.setHeader("RateLimit-Remaining", String(Math.max(0, rate.remaining)));
  res.setHeader("RateLimit-Reset", String(Math.max(0, rate.resetSec)));
}

type Denial =
  | Extract<SubmitDecision, { kind: "rate_limited" | "concurrency_limited" | "spend_cap" }>
  | Extract<SimpleDecision, { kind: "rate_limited" }>;

export interface DenialContext {
  readonly tenantId: string;
  readonly operation: string;
  readonly timeZone: string;
}

/** A denial as the client sees it: a sentence that says what to do, and the metric reason. */
export function denialError(
  denial: Denial,
  at: DenialContext,
): { error: GatewayError; reason: RejectionReason } {
  switch (denial.kind) {
    case "rate_limited":
      return {
        reason: "rate_limited",
        error: new GatewayError(
          "RATE_LIMITED",
          `Rate limit exceeded for tenant '${at.tenantId}' (${at.operation}): retry in ${denial.retryAfterSec} s`,
          { retryAfterSec: denial.retryAfterSec },
        ),
      };
    case "concurrency_limited":
      return {
        reason: "concurrency_limited",
        error: new GatewayError(
          "CONCURRENCY_LIMITED",
          `Tenant '${at.tenantId}' has ${denial.inFlight} tasks in flight, its limit is ${denial.limit}: ` +
            `retry in ${denial.retryAfterSec} s, when earlier tasks have finished`,
          { retryAfterSec: denial.retryAfterSec },
        ),
      };
    case "spend_cap":
      return {
        reason: "spend_cap",
        error: new GatewayError(
          "SPEND_CAP_EXCEEDED",
          `Daily spend cap reached for tenant '${at.tenantId}': cap ${formatUsd(denial.capMicros)}, ` +
            `spent ${formatUsd(denial.spentMicros)} today, this request ${formatUsd(denial.costMicros)}. ` +
            `The cap resets at midnight (${at.timeZone}); ask your platform team to raise it.`,
        ),
      };
  }
}

/**
 * Everything a tenant-level denial does on the way out: the headers of the bucket that applied, the decision
 * noted for the audit line, and the error to throw.
 */
export function deny(
  res: ServerResponse,
  ctx: RequestContext,
  denial: Denial,
  operation: string,
): GatewayError {
  setRateHeaders(res, denial.rate);
  const tenant = ctx.policy?.tenant;
  const { error, reason } = denialError(denial, {
    tenantId: tenant?.id ?? "unknown",
    operation,
    timeZone: tenant?.timeZone ?? "UTC",
  });
  ctx.decisions.push(reason);
  return error;
}
