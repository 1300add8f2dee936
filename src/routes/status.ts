import type { IncomingMessage, ServerResponse } from "node:http";
import { parseStatusAnswer } from "../apixo/answers.js";
import { GatewayError } from "../errors/catalog.js";
import { canonicalModel } from "../apixo/endpoints.js";
import { deny, setRateHeaders } from "./denials.js";
import type { ProxyDeps } from "./deps.js";
import { sendAnswer, toStored } from "../upstream/transport.js";
import { isJsonObject } from "../apixo/json.js";
import { accountDeniedError } from "./accountDenial.js";
import { settleObserved } from "../ledger/settle.js";
import { answerFromCache, answerPaced, fetchStatus, rememberForPacing } from "./statusShortcuts.js";
import { UpstreamError } from "../upstream/upstreamError.js";

/** GET /api/v1/statusTask/:model — only the tenant's own tasks; settles the ledger when a task is seen to finish. */
export function statusHandler(deps: ProxyDeps) {
  // taskId: the one checked value of the query (src/http/query.ts); the upstream query is rebuilt from it.
  return async (
    req: IncomingMessage,
    res: ServerResponse,
    requestedModel: string,
    taskId: string,
  ): Promise<void> => {
    const ctx = deps.contexts.get(req);
    const policy = deps.contexts.policy(req);
    const tenantId = policy.tenant.id;
    const model = canonicalModel(requestedModel);
    ctx.taskId = taskId;
    const upstream = policy.tenant.upstreamKey;
    const protection = ctx.snapshot.config.upstream.protection;
    const { account } = policy;

    // Strict: without the ledger the gateway cannot tell whose task this is (never fail open here).
    const decision = await deps.governor.decideStrict("admit_status", (store) =>
      store.admitStatus({
        tenantId,
        buckets: policy.statusBuckets,
        taskId,
        ...(account === undefined ? {} : { account }),
      }),
    );
    if (decision.kind === "rate_limited") throw deny(res, ctx, decision, "status");
    if (decision.kind === "account_limited") throw accountDeniedError(deps, ctx, res, decision);
    setRateHeaders(res, decision.rate);
    const task = decision.task;
    // Another tenant's task and no task at all must look the same, and APIXO is not asked.
    if (task?.model !== model) {
      throw new GatewayError("TASK_NOT_FOUND", `Task '${taskId}' was not found for model '${model}'.`);
    }
    ctx.costMicros = task.costMicros;
    if (answerFromCache(deps, ctx, res, task, decision.cached)) return;
    if (answerPaced(deps, ctx, res, task, upstream)) return;
    if (protection.statusCache) deps.events.statusCache({ hit: false });

    let answer;
    try {
      const call = {
        operation: "status",
        model,
        taskId,
        upstreamKey: policy.upstreamKey,
        upstream,
        idempotent: true,
      } as const;
      answer = await fetchStatus(deps, req, res, call, taskId);
    } catch (err) {
      throw err instanceof UpstreamError ? err.toGatewayError() : err;
    }
    const status = parseStatusAnswer(answer.status, answer.body);
    if (!status.ok) {
      if (answer.status === 200 && !isJsonObject(answer.body)) {
        throw new UpstreamError("bad_response", status.reason).toGatewayError();
      }
    } else {
      ctx.taskState = status.state;
      ctx.failCode = status.failCode;
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
    sendAnswer(res, answer);
  };
}
