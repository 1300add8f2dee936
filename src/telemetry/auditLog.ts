import type { Logger } from "./logger.js";
import { noEvents, type GatewayEvents } from "./events.js";

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;
const usd = (micros: number | undefined): number | undefined =>
  micros === undefined ? undefined : micros / 1e6;

/**
 * One JSON line per request: the trail for debugging and cost attribution. Audit lines go to `auditLogger`
 * (the buffered stdout in `serve`, logger.ts bufferedAuditOutput), everything else to `logger`.
 */
export function auditLog(logger: Logger, auditLogger: Logger = logger): GatewayEvents {
  // The fields below are ids, labels and numbers (the model and task ids as the client named them): no header,
  // body or key, so this line skips the redaction pass, which re-parsed its paths on every request (the largest
  // allocation on the request path in a profile). test/integration/auditlog.test.ts pins the field list.
  const audit = auditLogger.child({ log: "audit" }, { redact: [] });
  return {
    ...noEvents,
    requestFinished(r) {
      audit.info({
        requestId: r.requestId,
        traceId: r.traceId,
        tenant: r.tenant,
        operation: r.operation,
        method: r.method,
        path: r.path,
        model: r.model,
        upstream: r.upstream,
        keyLabel: r.keyLabel,
        user: r.endUser,
        feature: r.feature,
        taskId: r.taskId,
        status: r.status,
        errorType: r.errorType,
        latencyMs: round3(r.durationMs),
        upstreamMs: round3(r.upstreamMs),
        waitMs: r.waitMs > 0 ? round3(r.waitMs) : undefined,
        retries: r.retries > 0 ? r.retries : undefined,
        cacheStatus: r.cacheStatus,
        // Only where money moved: the submit that charged (or kept charged) it, the poll that refunded it.
        costUsd: usd(r.costMicros),
        refundUsd: usd(r.refundedMicros),
        taskState: r.taskState,
        failCode: r.failCode,
        decisions: r.decisions.length > 0 ? r.decisions : undefined,
      });
    },
    configReloaded(e) {
      if (e.ok) logger.info({ event: "config_reloaded" }, "configuration reloaded");
    },
  };
}
