import type { IncomingMessage, ServerResponse } from "node:http";
import { ClientClosedRequest } from "../http/body.js";
import { upstreamTarget } from "../http/governedRoutes.js";
import type { OperationLabel } from "../telemetry/events.js";
import { endChildSpan, runInSpan, startUpstreamSpan } from "../telemetry/spans.js";
import type { ProxyDeps } from "../routes/deps.js";
import type { UpstreamAnswer } from "./transport.js";
import { UpstreamError } from "./upstreamError.js";

export interface UpstreamCall {
  readonly operation: OperationLabel;
  /** Canonical model id, for labels. */
  readonly model: string | undefined;
  readonly upstreamKey: string;
  /** statusTask's checked task id: with operation and model, it makes the upstream target. */
  readonly taskId?: string;
  readonly body?: Buffer;
  /** What is left of the request's deadline (default: upstream.timeoutMs). */
  readonly timeoutMs?: number;
}

/** One buffered exchange with APIXO, timed and reported; failures come back as UpstreamError. */
export async function callUpstream(
  deps: ProxyDeps,
  req: IncomingMessage,
  res: ServerResponse,
  call: UpstreamCall,
): Promise<UpstreamAnswer> {
  const ctx = deps.contexts.get(req);
  // Answered already: the server refused the request while its body was still arriving (a parse error or a
  // timeout, src/http/publicServer.ts). A governed GET does not wait for its body, so it is stopped here.
  if (res.writableEnded) throw new ClientClosedRequest();
  const started = deps.clock.monotonicMs();
  const span = startUpstreamSpan(ctx.snapshot.config.upstream.baseUrl, req.method ?? "GET", call);
  try {
    const answer = await runInSpan(span, () =>
      deps.forwarder.exchange(req, res, {
        upstreamKey: call.upstreamKey,
        requestId: ctx.requestId,
        // Built from what the gateway decided, never from the client's URL (CONTRACTS.md section 5).
        target: upstreamTarget(call),
        ...(call.body === undefined ? {} : { body: call.body }),
        ...(call.timeoutMs === undefined ? {} : { timeoutMs: call.timeoutMs }),
      }),
    );
    endChildSpan(span, answer.status >= 500 ? "status_5xx" : undefined, {
      "http.response.status_code": answer.status,
    });
    ctx.upstreamMs += answer.upstreamMs;
    deps.events.upstreamFinished({
      model: call.model,
      operation: call.operation,
      durationMs: answer.upstreamMs,
      status: answer.status,
      failure: undefined,
    });
    return answer;
  } catch (err) {
    const failure = err instanceof UpstreamError ? err : UpstreamError.classify(err, false);
    const durationMs = deps.clock.monotonicMs() - started;
    endChildSpan(span, failure.reason, { "apixo.upstream_failure": failure.reason });
    ctx.upstreamMs += durationMs;
    deps.events.upstreamFinished({
      model: call.model,
      operation: call.operation,
      durationMs,
      status: undefined,
      failure: failure.reason,
    });
    throw failure;
  }
}
