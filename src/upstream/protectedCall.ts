import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError } from "../errors/catalog.js";
import type { ProxyDeps } from "../routes/deps.js";
import type { UpstreamAnswer } from "./transport.js";
import { backoffMs, isRetryable, outcomeOf, retryAfterMs } from "./retry.js";
import { callUpstream, type UpstreamCall } from "./upstreamCall.js";
import { UpstreamError } from "./upstreamError.js";

export interface ProtectedCall extends UpstreamCall {
  /** The upstream key's alias: the breaker's name. */
  readonly upstream: string;
  /** statusTask and current-balance: safe to send twice. */
  readonly idempotent: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Result = { readonly answer: UpstreamAnswer } | { readonly failure: UpstreamError };

function settled(result: Result): UpstreamAnswer {
  if ("failure" in result) throw result.failure;
  return result.answer;
}

/** 503 UPSTREAM_UNAVAILABLE while the upstream's circuit is open: APIXO was not asked, nothing was sent. */
export class CircuitOpenError extends GatewayError {
  constructor(retryAfterMs: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(
      "UPSTREAM_UNAVAILABLE",
      `APIXO has been failing, so the gateway pauses calls to it for a moment; retry in ${seconds} s.`,
      { status: 503, retryAfterSec: seconds },
    );
  }
}

/**
 * callUpstream behind the upstream's circuit breaker, with retries where they are safe (see retry.ts), all
 * within the request's deadline (upstream.timeoutMs from its start). Returns APIXO's last answer or throws
 * its last failure; a CircuitOpenError when the circuit is open before the first try.
 */
export async function callProtected(
  deps: ProxyDeps,
  req: IncomingMessage,
  res: ServerResponse,
  call: ProtectedCall,
): Promise<UpstreamAnswer> {
  const ctx = deps.contexts.get(req);
  const { protection, timeoutMs } = ctx.snapshot.config.upstream;
  const deadlineMs = ctx.startedMs + timeoutMs;
  const { breakers } = deps.protection;
  let last: Result | undefined;
  for (let attempt = 1; ; attempt++) {
    const permit = breakers.acquire(call.upstream, protection.breaker);
    if (permit.kind === "open") {
      // Opened while this request was retrying: its own last result is the better answer.
      if (last !== undefined) return settled(last);
      ctx.decisions.push("circuit_open");
      throw new CircuitOpenError(permit.retryAfterMs);
    }
    const remainingMs = Math.max(1, deadlineMs - deps.clock.monotonicMs());
    let result: Result;
    try {
      result = { answer: await callUpstream(deps, req, res, { ...call, timeoutMs: remainingMs }) };
    } catch (err) {
      if (!(err instanceof UpstreamError)) {
        breakers.record(call.upstream, protection.breaker, permit, "neutral");
        throw err;
      }
      result = { failure: err };
    }
    breakers.record(call.upstream, protection.breaker, permit, outcomeOf(result));
    last = result;

    if (attempt >= protection.retries.attempts || !isRetryable(call.idempotent, result))
      return settled(result);
    const hintMs = "answer" in result ? retryAfterMs(result.answer.headers, deps.clock.now()) : 0;
    const delayMs = Math.max(backoffMs(attempt, protection.retries), hintMs);
    if (deps.clock.monotonicMs() + delayMs >= deadlineMs) return settled(result);
    ctx.decisions.push(`retry_${attempt}`);
    await sleep(delayMs);
  }
}
