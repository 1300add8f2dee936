import type { RequestRecord } from "../telemetry/events.js";
import { traceIdOf } from "../telemetry/spans.js";
import type { RequestContext } from "./context.js";

export function finishRecord(
  ctx: RequestContext,
  method: string,
  status: number,
  nowMs: number,
): RequestRecord {
  return {
    requestId: ctx.requestId,
    traceId: traceIdOf(ctx.span),
    method,
    operation: ctx.operation,
    tenant: ctx.policy?.tenant.id,
    model: ctx.model,
    taskId: ctx.taskId,
    status,
    errorType: ctx.errorType,
    durationMs: nowMs - ctx.startedMs,
    upstreamMs: ctx.upstreamMs,
    costMicros: ctx.costMicros,
    refundedMicros: ctx.refundedMicros,
    taskState: ctx.taskState,
    failCode: ctx.failCode,
    decisions: ctx.decisions,
  };
}
