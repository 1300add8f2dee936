import { randomUUID } from "node:crypto";
import { parseSubmitAnswer } from "../apixo/answers.js";
import { canonicalModel, submitTarget } from "../apixo/endpoints.js";
import { isJsonObject } from "../apixo/json.js";
import { findModel } from "../apixo/models.js";
import { microsToUsd } from "../apixo/prices.js";
import { validateSubmit } from "../apixo/validate.js";
import type { CallbackSubmit } from "../callbacks/service.js";
import { GatewayError } from "../errors/catalog.js";
import { SubmitReservation } from "../ledger/reservation.js";
import { allowListOf } from "../net/addresses.js";
import { toStored, type UpstreamAnswer } from "../upstream/transport.js";
import { UpstreamError } from "../upstream/upstreamError.js";
import { policyOf, type RequestContext } from "./context.js";
import { setRateHeaders } from "./denials.js";
import type { RouteDeps } from "./deps.js";
import { parseJsonBody } from "./jsonBody.js";
import { NOTHING, type Reply } from "./reply.js";
import { attributionOf, type AttributionHeaders } from "./attribution.js";
import {
  admitSubmit,
  assertModelAllowed,
  costOf,
  idempotencyKeyOf,
  type Admitted,
} from "./submitAdmission.js";

export interface SubmitRequest {
  /** The model as the path named it. */
  readonly model: string;
  /** The body's exact bytes, as read (and size-checked) by the HTTP layer. */
  readonly body: Buffer;
  readonly idempotencyKey: string | string[] | undefined;
  /** X-Gateway-User / X-Gateway-Feature as sent (checked here). */
  readonly attribution: AttributionHeaders;
  /** True once the client has gone away: nothing is sent to APIXO for it then. */
  readonly clientGone: () => boolean;
}

/**
 * POST /api/v1/generateTask/:model, as named steps: check, price, admit (one store round trip, reserving the
 * cost), forward, then give the reservation its one fate: charged (APIXO accepted), released (the request
 * never left, or APIXO refused it) or unknown (it may have reached APIXO and no answer can be read).
 */
export function submitRoute(deps: RouteDeps) {
  return async (ctx: RequestContext, request: SubmitRequest): Promise<Reply> => {
    const policy = policyOf(ctx);
    assertModelAllowed(policy, request.model);
    const { parsed, callback } = await check(deps, ctx, request);
    const model = canonicalModel(request.model);
    const costMicros = costOf(ctx, policy, request.model, parsed);
    const idempotencyKey = idempotencyKeyOf(request.idempotencyKey);
    const attribution = attributionOf(ctx, request.attribution);

    const admission = await admitSubmit(deps, ctx, request.clientGone, {
      policy,
      model,
      costMicros,
      reservationId: randomUUID(),
      idempotencyKey,
      attribution,
    });
    if (admission.kind === "replay") {
      // A governed answer like any other: the bucket's headers and the budget left (nothing new was charged).
      ctx.facts.decisions.push("idempotent_replay");
      setRateHeaders(ctx, admission.rate);
      setBudgetHeader(ctx, admission.remainingMicros);
      return { kind: "stored", answer: admission.answer, headers: { "Idempotent-Replayed": "true" } };
    }
    const reservation = new SubmitReservation(deps, admission.facts);
    noteAdmission(deps, ctx, admission);

    const answer = await forward(deps, ctx, request, reservation, callback, model);
    if (answer === undefined) return NOTHING;
    return settle(deps, ctx, reservation, callback, answer, { model, costMicros, idempotencyKey });
  };
}

/** The body is UTF-8 JSON the model accepts; callback mode's URL is checked and swapped for the gateway's. */
async function check(
  deps: RouteDeps,
  ctx: RequestContext,
  request: SubmitRequest,
): Promise<{ parsed: unknown; callback: CallbackSubmit | undefined }> {
  const parsed = parseJsonBody(request.body);
  const media = { allowList: allowListOf(ctx.snapshot.config.governance.mediaUrls.allowPrivateNetworks) };
  const validation = validateSubmit(findModel(request.model), parsed, media);
  if (!validation.ok) throw new GatewayError("INVALID_REQUEST", validation.message);
  const callback =
    validation.requestType === "callback"
      ? await deps.callbacks.prepare(
          ctx.snapshot,
          policyOf(ctx),
          canonicalModel(request.model),
          validation.callbackUrl,
          request.body,
        )
      : undefined;
  return { parsed, callback };
}

/** X-Budget-Remaining-Usd, when a cap applies: the smallest budget left (today, this month, the model, the user). */
function setBudgetHeader(ctx: RequestContext, remainingMicros: number | null): void {
  if (remainingMicros !== null)
    ctx.headers["X-Budget-Remaining-Usd"] = String(microsToUsd(Math.max(0, remainingMicros)));
}

/** The headers and audit notes of an admission that reserved (or, fail-open, proceeds unguarded). */
function noteAdmission(deps: RouteDeps, ctx: RequestContext, admission: Admitted): void {
  const { decision } = admission;
  if (decision === undefined) {
    ctx.facts.decisions.push("unguarded");
    return;
  }
  ctx.facts.decisions.push("admitted");
  setRateHeaders(ctx, decision.rate);
  setBudgetHeader(ctx, decision.remainingMicros);
  for (const task of decision.expired) {
    deps.events.taskFinished({
      tenant: admission.facts.tenantId,
      upstream: admission.facts.upstream,
      model: task.model,
      state: "expired",
      failCode: undefined,
      refundedMicros: 0,
      costTimeMs: undefined,
    });
  }
}

/**
 * Sends the submit to APIXO (never retried once it may have arrived: a lost answer can still mean a started,
 * paid task). Undefined when the client was gone before anything was sent. A failure is thrown after the
 * reservation got its fate: released when the request provably never left (breaker open, connection refused,
 * a step before sending), unknown when it may have arrived.
 */
async function forward(
  deps: RouteDeps,
  ctx: RequestContext,
  request: SubmitRequest,
  reservation: SubmitReservation,
  callback: CallbackSubmit | undefined,
  model: string,
): Promise<UpstreamAnswer | undefined> {
  const policy = policyOf(ctx);
  try {
    if (request.clientGone()) {
      // The client went away before anything was sent: nothing may be charged for it.
      ctx.facts.decisions.push("client_gone", "released");
      await reservation.release();
      return undefined;
    }
    await callback?.remember();
    return await deps.upstream.call(
      {
        operation: "submit",
        model,
        upstream: policy.tenant.upstreamKey,
        upstreamKey: policy.upstreamKey,
        target: submitTarget(model),
        body: callback?.body ?? request.body,
        requestId: ctx.requestId,
        deadlineMs: ctx.startedMs + ctx.snapshot.config.upstream.timeoutMs,
        idempotent: false,
        note: (decision) => ctx.facts.decisions.push(decision),
      },
      ctx.facts,
    );
  } catch (err) {
    if (err instanceof UpstreamError && !err.neverSent) {
      // After a timeout or reset APIXO may have started (and will bill) the task: kept until an operator
      // releases it (docs/upstream-protection.md, "What a task costs when things fail").
      ctx.facts.decisions.push("outcome_unknown");
      // Kept charged: money moved as far as the ledger is concerned (the audit line's costUsd).
      ctx.facts.costMicros = reservation.facts.costMicros;
      await reservation.unknown(err.reason);
    } else {
      // The breaker's fail-fast (CircuitOpenError), a connection refused, or a step before sending.
      ctx.facts.decisions.push("released");
      await reservation.release();
    }
    throw err instanceof UpstreamError ? err.toGatewayError() : err;
  }
}

/** APIXO answered: charge the accepted task, release a refused one, keep an unreadable 200 as unknown. */
async function settle(
  deps: RouteDeps,
  ctx: RequestContext,
  reservation: SubmitReservation,
  callback: CallbackSubmit | undefined,
  answer: UpstreamAnswer,
  submit: {
    readonly model: string;
    readonly costMicros: number;
    readonly idempotencyKey: string | undefined;
  },
): Promise<Reply> {
  const outcome = parseSubmitAnswer(answer.status, answer.body);
  if (!outcome.accepted) {
    if (answer.status === 200 && !isJsonObject(answer.body)) {
      // An unreadable 200 may still be an accepted task: same rule as a lost answer.
      ctx.facts.decisions.push("outcome_unknown");
      ctx.facts.costMicros = reservation.facts.costMicros;
      await reservation.unknown("bad_response");
      throw new UpstreamError("bad_response", outcome.reason).toGatewayError();
    }
    ctx.facts.decisions.push("released");
    await reservation.release();
    await callback?.forget();
    return { kind: "upstream", answer };
  }
  ctx.facts.taskId = outcome.taskId;
  const { governance } = ctx.snapshot.config;
  const { idempotencyKey } = submit;
  // Sent to the store with the other records of this event-loop turn before the answer goes out (not waited
  // for), or kept in the ledger journal while the store is down (fail-open) and applied when it returns:
  // either way the task becomes pollable and charged once (ledger/writer.ts).
  const traceparent = deps.tracer.traceparent(ctx.span);
  await reservation.charge({
    taskId: outcome.taskId,
    ttlSec: governance.ledgerTtlHours * 3600,
    ...(traceparent === undefined ? {} : { traceparent }),
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
  deps.events.taskSubmitted({
    tenant: reservation.facts.tenantId,
    upstream: reservation.facts.upstream,
    model: submit.model,
    costMicros: submit.costMicros,
    feature: reservation.facts.attribution.feature,
  });
  // The decision is named by its kind; the amount is the record's costUsd (audit line, span attribute).
  ctx.facts.decisions.push("charged");
  ctx.facts.costMicros = submit.costMicros;
  return { kind: "upstream", answer };
}
