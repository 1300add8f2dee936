import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseSubmitAnswer } from "../apixo/answers.js";
import { findModel } from "../apixo/models.js";
import { formatUsd, microsToUsd } from "../apixo/prices.js";
import { validateSubmit } from "../apixo/validate.js";
import { GatewayError } from "../errors/catalog.js";
import { canonicalModel } from "../apixo/endpoints.js";
import { parseJsonBody, readBody } from "../http/body.js";
import { allowListOf } from "../net/addresses.js";
import type { RequestContext } from "../http/context.js";
import { SubmitReservation } from "../ledger/reservation.js";
import { setRateHeaders } from "./denials.js";
import type { ProxyDeps } from "./deps.js";
import { replay, sendAnswer, toStored, type UpstreamAnswer } from "../upstream/transport.js";
import { isJsonObject } from "../apixo/json.js";
import { CircuitOpenError, callProtected } from "../upstream/protectedCall.js";
import {
  admitSubmit,
  assertModelAllowed,
  costOf,
  idempotencyKeyOf,
  type Admitted,
} from "./submitAdmission.js";
import { UpstreamError } from "../upstream/upstreamError.js";

export { assertModelAllowed } from "./submitAdmission.js";

/**
 * POST /api/v1/generateTask/:model: validate, price, admit (one store round trip, reserving the cost),
 * forward, then give the reservation its one fate: charged (APIXO accepted), released (the request never
 * left, or APIXO refused it), or unknown (it may have reached APIXO and no answer can be read).
 */
export function submitHandler(deps: ProxyDeps) {
  return async (req: IncomingMessage, res: ServerResponse, model: string): Promise<void> => {
    const ctx = deps.contexts.get(req);
    const policy = deps.contexts.policy(req);
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

    const admission = await admitSubmit(deps, ctx, res, {
      policy,
      model: canonical,
      costMicros,
      reservationId: randomUUID(),
      idempotencyKey,
    });
    if (admission.kind === "replay") {
      ctx.decisions.push("idempotent_replay");
      replay(res, admission.answer, { "Idempotent-Replayed": "true" });
      return;
    }
    const reservation = new SubmitReservation(deps, admission.facts);
    noteAdmission(deps, ctx, res, admission, costMicros);

    let answer: UpstreamAnswer;
    try {
      if (res.destroyed) {
        // The client went away before anything was sent: nothing may be charged for it.
        ctx.decisions.push("client_gone");
        await reservation.release();
        return;
      }
      await callback?.remember();
      // Never retried once it may have reached APIXO: a lost answer can still mean a started, paid task.
      answer = await callProtected(deps, req, res, {
        operation: "submit",
        model: canonical,
        upstreamKey: policy.upstreamKey,
        body: callback?.body ?? body,
        upstream: policy.tenant.upstreamKey,
        idempotent: false,
      });
    } catch (err) {
      await fateOfFailure(ctx, reservation, err);
      throw err instanceof UpstreamError ? err.toGatewayError() : err;
    }

    const outcome = parseSubmitAnswer(answer.status, answer.body);
    if (!outcome.accepted) {
      if (answer.status === 200 && !isJsonObject(answer.body)) {
        // An unreadable 200 may still be an accepted task: same rule as a lost answer.
        ctx.decisions.push("outcome_unknown");
        await reservation.unknown("bad_response");
        throw new UpstreamError("bad_response", outcome.reason).toGatewayError();
      }
      ctx.decisions.push("released");
      await reservation.release();
      await callback?.forget();
      sendAnswer(res, answer);
      return;
    }

    ctx.taskId = outcome.taskId;
    ctx.costMicros = costMicros;
    const { governance } = ctx.snapshot.config;
    // Applied at once, or kept in the ledger journal while the store is down (fail-open) and applied when it
    // returns: either way the task becomes pollable and charged once.
    await reservation.charge({
      taskId: outcome.taskId,
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
    });
    // After the ledger record: a callback confirmed from here on finds the task to settle.
    await callback?.bind(outcome.taskId);
    deps.events.taskSubmitted({ tenant: policy.tenant.id, model: canonical, costMicros });
    ctx.decisions.push(`charged ${formatUsd(costMicros)}`);
    sendAnswer(res, answer);
  };
}

/** The headers and audit notes of an admission that reserved (or, fail-open, proceeds unguarded). */
function noteAdmission(
  deps: ProxyDeps,
  ctx: RequestContext,
  res: ServerResponse,
  admission: Admitted,
  costMicros: number,
): void {
  const { decision } = admission;
  if (decision === undefined) {
    ctx.decisions.push("unguarded");
    return;
  }
  ctx.decisions.push("admitted");
  setRateHeaders(res, decision.rate);
  const cap = ctx.policy?.capMicros ?? null;
  if (cap !== null) {
    res.setHeader("X-Budget-Remaining-Usd", String(microsToUsd(Math.max(0, cap - decision.spentMicros))));
  }
  for (const task of decision.expired) {
    deps.events.taskFinished({
      tenant: admission.facts.tenantId,
      model: task.model,
      state: "expired",
      failCode: undefined,
      refundedMicros: 0,
      costTimeMs: undefined,
    });
  }
  ctx.costMicros = costMicros;
}

/**
 * A submit that failed before or while talking to APIXO: released when the request provably never left
 * (breaker open, connection refused, a step before forwarding), kept as unknown when it may have arrived.
 */
async function fateOfFailure(
  ctx: RequestContext,
  reservation: SubmitReservation,
  err: unknown,
): Promise<void> {
  if (err instanceof CircuitOpenError) {
    ctx.decisions.push("circuit_open", "released");
    await reservation.release();
  } else if (err instanceof UpstreamError && !err.neverSent) {
    // After a timeout or reset APIXO may have started (and will bill) the task: kept until an operator or
    // the task max age says otherwise (docs/upstream-protection.md, "What a task costs when things fail").
    ctx.decisions.push("outcome_unknown");
    await reservation.unknown(err.reason);
  } else {
    ctx.decisions.push("released");
    await reservation.release();
  }
}
