import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseSubmitAnswer } from "../apixo/answers.js";
import { findModel } from "../apixo/models.js";
import { estimateCost, formatUsd, microsToUsd } from "../apixo/prices.js";
import { validateSubmit } from "../apixo/validate.js";
import { GatewayError } from "../errors/catalog.js";
import { canonicalModel, type TenantPolicy } from "../gateway/snapshot.js";
import { parseJsonBody, readBody } from "../http/body.js";
import { allowListOf } from "../net/addresses.js";
import type { RequestContext } from "../http/context.js";
import type { SubmitDecision } from "../limits/store.js";
import { deny, setRateHeaders } from "./decisions.js";
import type { ProxyDeps } from "./deps.js";
import { replay, sendAnswer, toStored, type UpstreamAnswer } from "./forwarder.js";
import { isJsonObject } from "./json.js";
import { accountDeniedError } from "./account.js";
import { callProtected } from "./protectedCall.js";
import { UpstreamError } from "./upstreamError.js";

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function assertModelAllowed(policy: TenantPolicy, model: string): void {
  if (policy.allowedModels === null || policy.allowedModels.has(canonicalModel(model))) return;
  throw new GatewayError(
    "MODEL_NOT_ALLOWED",
    `Tenant '${policy.tenant.id}' may not use model '${model}'; allowed: ${[...policy.allowedModels].join(", ")}.`,
  );
}

function costOf(ctx: RequestContext, policy: TenantPolicy, model: string, body: unknown): number {
  const estimate = estimateCost(ctx.snapshot.prices, model, body);
  if (estimate.kind === "priced") return estimate.costMicros;
  if (policy.unpricedChargeMicros !== null) return policy.unpricedChargeMicros;
  throw new GatewayError(
    "MODEL_NOT_ALLOWED",
    `Model '${model}' has no price in the gateway's price table and tenant '${policy.tenant.id}' does not allow ` +
      "unpriced models; ask your platform team to add it to governance.prices.",
  );
}

function idempotencyKeyOf(req: IncomingMessage): string | undefined {
  const key = req.headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (typeof key !== "string" || !IDEMPOTENCY_KEY.test(key)) {
    throw new GatewayError("INVALID_REQUEST", "Idempotency-Key must be 1-255 visible ASCII characters.");
  }
  return key;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** POST /api/v1/generateTask/:model — validate, reserve (one store round trip), forward, then record or release. */
export function submitHandler(deps: ProxyDeps) {
  return async (req: IncomingMessage, res: ServerResponse, model: string): Promise<void> => {
    const ctx = deps.contexts.get(req);
    const policy = deps.contexts.policy(req);
    const tenantId = policy.tenant.id;
    assertModelAllowed(policy, model);

    const body = await readBody(req, ctx.snapshot.config.server.bodyLimitBytes);
    const parsed = parseJsonBody(body);
    const media = { allowList: allowListOf(ctx.snapshot.config.governance.mediaUrls.allowPrivateNetworks) };
    const validation = validateSubmit(findModel(model), parsed, media);
    if (!validation.ok) throw new GatewayError("INVALID_REQUEST", validation.message);
    const canonical = canonicalModel(model);
    // Callback mode: the tenant's URL is checked and swapped for the gateway's (src/callbacks).
    const callback =
      validation.requestType === "callback"
        ? await deps.callbacks.prepare(ctx.snapshot, policy, canonical, validation.callbackUrl, body)
        : undefined;
    const costMicros = costOf(ctx, policy, model, parsed);
    const idempotencyKey = idempotencyKeyOf(req);
    const { governance } = ctx.snapshot.config;
    const reservationId = randomUUID();
    const upstream = policy.tenant.upstreamKey;
    const { account, accountSlot } = policy;

    const admit = (): Promise<SubmitDecision | { kind: "unguarded" }> =>
      deps.governor.decide("admit_submit", (store) =>
        store.admitSubmit({
          tenantId,
          model: canonical,
          buckets: policy.submitBuckets(canonical),
          maxInFlight: policy.tenant.limits.maxInFlight,
          capMicros: policy.capMicros,
          costMicros,
          days: deps.governor.dayWindow(policy.tenant.timeZone),
          reservationId,
          taskMaxAgeMs: governance.taskMaxAgeMinutes * 60_000,
          ...(idempotencyKey === undefined
            ? {}
            : { idempotency: { key: idempotencyKey, ttlSec: governance.idempotencyTtlHours * 3600 } }),
          ...(account === undefined ? {} : { account }),
        }),
      );

    // A duplicate of a request still in progress waits for its answer rather than starting a second paid task.
    const deadline = deps.clock.monotonicMs() + ctx.snapshot.config.upstream.timeoutMs + 1_000;
    let decision = await admit();
    for (let delayMs = 20; decision.kind === "in_progress"; delayMs = Math.min(delayMs * 2, 250)) {
      if (deps.clock.monotonicMs() > deadline) {
        throw new GatewayError(
          "UPSTREAM_TIMEOUT",
          "An earlier request with the same Idempotency-Key has not finished, or APIXO's answer to it was lost; " +
            "retry later with the same key.",
        );
      }
      await sleep(delayMs);
      decision = await admit();
    }

    if (decision.kind === "replay") {
      ctx.decisions.push("idempotent_replay");
      replay(res, decision.answer, { "Idempotent-Replayed": "true" });
      return;
    }
    if (decision.kind === "account_limited") throw accountDeniedError(deps, ctx, res, decision);
    if (
      decision.kind === "rate_limited" ||
      decision.kind === "concurrency_limited" ||
      decision.kind === "spend_cap"
    ) {
      throw deny(res, ctx, decision, "submit");
    }

    const guarded = decision.kind === "admitted" ? decision : undefined;
    if (guarded === undefined) ctx.decisions.push("unguarded");
    else {
      ctx.decisions.push("admitted");
      setRateHeaders(res, guarded.rate);
      if (policy.capMicros !== null) {
        res.setHeader(
          "X-Budget-Remaining-Usd",
          String(microsToUsd(Math.max(0, policy.capMicros - guarded.spentMicros))),
        );
      }
      for (const task of guarded.expired) {
        deps.events.taskFinished({
          tenant: tenantId,
          model: task.model,
          state: "expired",
          failCode: undefined,
          refundedMicros: 0,
          costTimeMs: undefined,
        });
      }
    }

    const release = async (): Promise<void> => {
      if (guarded === undefined) return;
      ctx.decisions.push("released");
      await deps.governor.record("release", (store) =>
        store.releaseReservation({
          tenantId,
          reservationId,
          day: guarded.day,
          model: canonical,
          costMicros,
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
          ...(accountSlot === undefined ? {} : { account: accountSlot }),
        }),
      );
    };

    let answer: UpstreamAnswer;
    try {
      await callback?.remember();
      // Never retried once it may have reached APIXO: a lost answer can still mean a started, paid task.
      answer = await callProtected(deps, req, res, {
        operation: "submit",
        model: canonical,
        upstreamKey: policy.upstreamKey,
        body: callback?.body ?? body,
        upstream,
        idempotent: false,
      });
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      // Released only when the request provably never left. After a timeout or reset APIXO may have started
      // (and will bill) the task: the reservation stays, and ages out after governance.taskMaxAgeMinutes.
      if (err.neverSent) await release();
      else ctx.decisions.push("outcome_unknown");
      throw err.toGatewayError();
    }

    const outcome = parseSubmitAnswer(answer.status, answer.body);
    if (!outcome.accepted) {
      if (answer.status === 200 && !isJsonObject(answer.body)) {
        // An unreadable 200 may still be an accepted task: same rule as a lost answer.
        ctx.decisions.push("outcome_unknown");
        throw new UpstreamError("bad_response", outcome.reason).toGatewayError();
      }
      await release();
      await callback?.forget();
      sendAnswer(res, answer);
      return;
    }

    ctx.taskId = outcome.taskId;
    ctx.costMicros = costMicros;
    // Recorded even when admitted unguarded (store down, fail-open), so the tenant can poll the task once the
    // store is back; with a zero cost then, as nothing was reserved that a refund could give back.
    await deps.governor.record("record_task", (store) =>
      store.recordTask({
        tenantId,
        taskId: outcome.taskId,
        model: canonical,
        costMicros: guarded === undefined ? 0 : costMicros,
        day: guarded?.day ?? deps.governor.dayWindow(policy.tenant.timeZone).today,
        reservationId,
        upstream: policy.tenant.upstreamKey,
        ttlSec: governance.ledgerTtlHours * 3600,
        ...(idempotencyKey === undefined
          ? {}
          : {
              idempotency: {
                key: idempotencyKey,
                ttlSec: governance.idempotencyTtlHours * 3600,
                answer: toStored(answer),
              },
            }),
      }),
    );
    // After the ledger record: a callback confirmed from here on finds the task to settle.
    await callback?.bind(outcome.taskId);
    deps.events.taskSubmitted({ tenant: tenantId, model: canonical, costMicros });
    ctx.decisions.push(`charged ${formatUsd(costMicros)}`);
    sendAnswer(res, answer);
  };
}
