import type { IncomingMessage, ServerResponse } from "node:http";
import type { ProxyDeps } from "./deps.js";
import { UpstreamError } from "../upstream/upstreamError.js";

/** Paths the operator allowed beyond the three governed endpoints: authenticated, then streamed untouched. */
export function passthroughHandler(deps: ProxyDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const ctx = deps.contexts.get(req);
    const policy = deps.contexts.policy(req);
    const started = deps.clock.monotonicMs();
    try {
      await deps.forwarder.stream(req, res, { upstreamKey: policy.upstreamKey, requestId: ctx.requestId });
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      throw err instanceof UpstreamError ? err.toGatewayError() : err;
    } finally {
      ctx.upstreamMs = deps.clock.monotonicMs() - started;
    }
  };
}
