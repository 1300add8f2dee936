import { parseStatusAnswer } from "../apixo/answers.js";
import { canonicalModel, statusTarget } from "../apixo/endpoints.js";
import { isJsonObject } from "../apixo/json.js";
import { GatewayError } from "../errors/catalog.js";
import { settleOutcome, type ObservedOutcome } from "../ledger/settle.js";
import type { TaskRecord } from "../limits/store.js";
import { pollKey } from "../upstream/coalesce.js";
import { toStored } from "../upstream/transport.js";
import { UpstreamError } from "../upstream/upstreamError.js";
import { policyOf, type RequestContext } from "./context.js";
import { decided, deny, denyForAccount, setRateHeaders } from "./denials.js";
import type { RouteDeps } from "./deps.js";
import { NOTHING, type Reply } from "./reply.js";
import { answerFromCache, answerPaced, rememberForPacing } from "./statusShortcuts.js";

export interface StatusRequest {
  /** The model as the path named it. */
  readonly model: string;
  /** The one checked value of the query (src/http/query.ts); the upstream query is rebuilt from it. */
  readonly taskId: string;
  /** True once the client has gone away (or the server answered it already): APIXO is not asked then. */
  readonly clientGone: () => boolean;
}

/**
 * GET /api/v1/statusTask/:model: only the tenant's own tasks (another tenant's and no task look the same,
 * and APIXO is not asked); answered from the cache or pacing when it can be; settles the ledger when a task is
 * seen to finish.
 */
export function statusRoute(deps: RouteDeps) {
  return async (ctx: RequestContext, request: StatusRequest): Promise<Reply> => {
    const policy = policyOf(ctx);
    const model = canonicalModel(request.model);
    const { taskId } = request;
    ctx.facts.taskId = taskId;
    const upstream = policy.tenant.upstreamKey;
    const { account } = policy;
    // Without the ledger the gateway cannot tell whose task this is: never fail open here.
    const decision = decided(
      ctx,
      await deps.governor.decide("admit_status", (store) =>
        store.admitStatus({
          tenantId: policy.tenant.id,
          buckets: policy.statusBuckets,
          taskId,
          ...(account === undefined ? {} : { account }),
        }),
      ),
    );
    if (decision.kind === "rate_limited") throw deny(ctx, decision, "status");
    if (decision.kind === "account_limited") throw denyForAccount(ctx, deps.events, decision);
    setRateHeaders(ctx, decision.rate);
    const task = decision.task;
    if (task?.model !== model) {
      throw new GatewayError("TASK_NOT_FOUND", `Task '${taskId}' was not found for model '${model}'.`);
    }
    // The poll is its own trace (its own client request): linked to the trace of the submit that made the task.
    deps.tracer.link(ctx.span, task.traceparent, "submit");
    const shortcut =
      answerFromCache(deps, ctx, task, decision.cached) ?? answerPaced(deps, ctx, task, upstream);
    if (shortcut !== undefined) return shortcut;
    const protection = ctx.snapshot.config.upstream.protection;
    if (protection.statusCache) {
      deps.events.statusCache({ hit: false });
      ctx.facts.cacheStatus = "miss";
    }
    if (request.clientGone()) return NOTHING;

    let answer;
    try {
      answer = await deps.upstream.call(
        {
          operation: "status",
          model,
          upstream,
          upstreamKey: policy.upstreamKey,
          target: statusTarget(model, taskId),
          requestId: ctx.requestId,
          deadlineMs: ctx.startedMs + ctx.snapshot.config.upstream.timeoutMs,
          idempotent: true,
          // Concurrent polls of one task in this process share one APIXO request; each passed its own
          // ownership check above, so an answer never crosses tenants.
          ...(protection.coalescePolls ? { coalesceKey: pollKey(upstream, model, taskId) } : {}),
          note: (d) => ctx.facts.decisions.push(d),
        },
        ctx.facts,
      );
    } catch (err) {
      throw err instanceof UpstreamError ? err.toGatewayError() : err;
    }
    const status = parseStatusAnswer(answer.status, answer.body);
    if (!status.ok) {
      if (answer.status === 200 && !isJsonObject(answer.body)) {
        throw new UpstreamError("bad_response", status.reason).toGatewayError();
      }
    } else {
      ctx.facts.taskState = status.state;
      ctx.facts.failCode = status.failCode;
      if (status.state === "success" || status.state === "failed") {
        await settleObserved(deps, ctx, task, {
          state: status.state,
          failCode: status.failCode,
          costTimeMs: status.costTimeMs,
          // A finished task's answer never changes: kept on the ledger for later polls (the status cache).
          ...(protection.statusCache && answer.status === 200 ? { answer: toStored(answer) } : {}),
        });
      } else rememberForPacing(deps, ctx, task, upstream, answer);
    }
    return { kind: "upstream", answer };
  };
}

/** Settles once however many polls race here; only the one that settled notes it on its audit line. */
async function settleObserved(
  deps: RouteDeps,
  ctx: RequestContext,
  task: TaskRecord,
  outcome: ObservedOutcome,
): Promise<void> {
  const result = await settleOutcome(deps, ctx.snapshot.config, task, outcome);
  if (!result?.settled) return;
  ctx.facts.refundedMicros = result.refundedMicros;
  // The settling poll's line names who the task was charged to, so a refund is attributed like its charge.
  ctx.facts.endUser = task.user;
  ctx.facts.feature = task.feature;
  ctx.facts.decisions.push(result.refundedMicros > 0 ? "settled_refunded" : "settled");
}
