import { estimateCost } from "../apixo/prices.js";
import { GatewayError } from "../errors/catalog.js";
import { canonicalModel } from "../apixo/endpoints.js";
import type { TenantPolicy } from "../tenants/policy.js";
import type { RequestContext } from "./context.js";
import { SubmitReservation, type ReservationFacts } from "../ledger/reservation.js";
import { isOverloaded, isStoreDown } from "../limits/governor.js";
import type { Attribution, SubmitDecision } from "../limits/store.js";
import { deny, denyForAccount, limitsUnavailable, overloaded } from "./denials.js";
import type { RouteDeps } from "./deps.js";

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function assertModelAllowed(policy: TenantPolicy, model: string): void {
  if (policy.allowedModels === null || policy.allowedModels.has(canonicalModel(model))) return;
  throw new GatewayError(
    "MODEL_NOT_ALLOWED",
    `Tenant '${policy.tenant.id}' may not use model '${model}'; allowed: ${[...policy.allowedModels].join(", ")}.`,
  );
}

export function costOf(ctx: RequestContext, policy: TenantPolicy, model: string, body: unknown): number {
  const estimate = estimateCost(ctx.snapshot.prices, model, body);
  if (estimate.kind === "priced") return estimate.costMicros;
  if (policy.unpricedChargeMicros !== null) return policy.unpricedChargeMicros;
  throw new GatewayError(
    "MODEL_NOT_ALLOWED",
    `Model '${model}' has no price in the gateway's price table and tenant '${policy.tenant.id}' does not allow ` +
      "unpriced models; ask your platform team to add it to governance.prices.",
  );
}

export function idempotencyKeyOf(key: string | string[] | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (typeof key !== "string" || !IDEMPOTENCY_KEY.test(key)) {
    throw new GatewayError("INVALID_REQUEST", "Idempotency-Key must be 1-255 visible ASCII characters.");
  }
  return key;
}

export interface AdmissionRequest {
  readonly policy: TenantPolicy;
  readonly model: string;
  readonly costMicros: number;
  readonly reservationId: string;
  readonly idempotencyKey: string | undefined;
  readonly attribution: Attribution;
}

/** A reservation to forward under: reserved in the store, or (fail-open, store down) unguarded. */
export interface Admitted {
  readonly kind: "admitted";
  readonly facts: ReservationFacts;
  /** The store's decision; undefined when the store could not be asked and the policy is fail-open. */
  readonly decision: Extract<SubmitDecision, { kind: "admitted" }> | undefined;
}

export type Admission = Admitted | Extract<SubmitDecision, { kind: "replay" }>;

/**
 * The submit's one store round trip (more only while an earlier request with the same Idempotency-Key is
 * still running). Denials, an overload and a fail-closed store outage are thrown as the client's answer; a
 * store outage whose admission may still run in Redis first releases that reservation id, so the late
 * admission takes nothing (the release waits in the ledger journal until the store is back).
 */
export async function admitSubmit(
  deps: RouteDeps,
  ctx: RequestContext,
  clientGone: () => boolean,
  request: AdmissionRequest,
): Promise<Admission> {
  const { policy, model, costMicros, reservationId, idempotencyKey, attribution } = request;
  const { governance } = ctx.snapshot.config;
  const days = deps.governor.dayWindow(policy.tenant.timeZone);
  const admit = () =>
    deps.governor.decide("admit_submit", (store) =>
      store.admitSubmit({
        tenantId: policy.tenant.id,
        model,
        buckets: policy.submitBuckets(model),
        maxInFlight: policy.tenant.limits.maxInFlight,
        caps: policy.submitCaps(model, attribution.user !== undefined),
        attribution,
        costMicros,
        days,
        reservationId,
        taskMaxAgeMs: governance.taskMaxAgeMinutes * 60_000,
        upstream: policy.tenant.upstreamKey,
        ...(idempotencyKey === undefined
          ? {}
          : { idempotency: { key: idempotencyKey, ttlSec: governance.idempotencyTtlHours * 3600 } }),
        ...(policy.account === undefined ? {} : { account: policy.account }),
      }),
    );

  // A duplicate of a request still in progress waits for its answer rather than starting a second paid task.
  const deadline = deps.clock.monotonicMs() + ctx.snapshot.config.upstream.timeoutMs + 1_000;
  let decision = await admit();
  for (let delayMs = 20; !isStoreDown(decision) && decision.kind === "in_progress";) {
    if (deps.clock.monotonicMs() > deadline || clientGone()) {
      throw new GatewayError(
        "UPSTREAM_TIMEOUT",
        "An earlier request with the same Idempotency-Key has not finished, or APIXO's answer to it was lost; " +
          "retry later with the same key.",
      );
    }
    await deps.clock.sleep(delayMs);
    delayMs = Math.min(delayMs * 2, 250);
    decision = await admit();
  }

  const facts: ReservationFacts = {
    tenantId: policy.tenant.id,
    reservationId,
    model,
    costMicros,
    upstream: policy.tenant.upstreamKey,
    days,
    admittedDay: undefined,
    idempotencyKey,
    attribution,
    accountSlot: policy.accountSlot,
    inStore: true,
  };
  if (isOverloaded(decision)) throw overloaded(ctx);
  if (isStoreDown(decision)) {
    const unguarded = { ...facts, inStore: decision.maybeApplied };
    if (decision.failOpen) return { kind: "admitted", facts: unguarded, decision: undefined };
    // Written only when the admission may still run in Redis (`inStore`); counted as released either way.
    ctx.facts.decisions.push("released");
    await new SubmitReservation(deps, unguarded).release();
    throw limitsUnavailable(decision);
  }
  switch (decision.kind) {
    case "admitted":
      return { kind: "admitted", facts: { ...facts, admittedDay: decision.day }, decision };
    case "replay":
      return decision;
    case "account_limited":
      throw denyForAccount(ctx, deps.events, decision);
    case "rate_limited":
    case "concurrency_limited":
    case "spend_cap":
      throw deny(ctx, decision, "submit");
    case "void":
      // Only a late admission of an id already settled is void, and this id is fresh.
      throw new Error("admitSubmit: a fresh reservation id came back void");
  }
}
