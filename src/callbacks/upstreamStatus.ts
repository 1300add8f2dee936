import type { Clock } from "../clock.js";
import type { GatewayEvents } from "../telemetry/events.js";

export interface StatusFetch {
  readonly status: number;
  readonly body: Buffer;
}

/**
 * statusTask for a callback's confirmation. No client request exists here, so this is a plain request (global
 * fetch keeps connections alive) rather than the forwarder, which proxies a client's request. Timed and
 * reported as operation "callback"; undefined when APIXO could not be reached in time.
 */
export async function fetchTaskStatus(
  deps: { readonly clock: Clock; readonly events: GatewayEvents },
  request: {
    readonly baseUrl: string;
    readonly upstreamKey: string;
    readonly model: string;
    readonly taskId: string;
    readonly timeoutMs: number;
  },
): Promise<StatusFetch | undefined> {
  const url = new URL(
    `/api/v1/statusTask/${encodeURIComponent(request.model)}?taskId=${encodeURIComponent(request.taskId)}`,
    request.baseUrl,
  );
  const started = deps.clock.monotonicMs();
  let status: number | undefined;
  try {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${request.upstreamKey}`, accept: "application/json" },
      redirect: "error",
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    status = response.status;
    const body = Buffer.from(await response.arrayBuffer());
    deps.events.upstreamFinished({
      model: request.model,
      operation: "callback",
      durationMs: deps.clock.monotonicMs() - started,
      status,
      failure: undefined,
    });
    return { status, body };
  } catch (err) {
    const timedOut = err instanceof Error && err.name === "TimeoutError";
    deps.events.upstreamFinished({
      model: request.model,
      operation: "callback",
      durationMs: deps.clock.monotonicMs() - started,
      status,
      failure: timedOut ? "timeout" : "connect",
    });
    return undefined;
  }
}
