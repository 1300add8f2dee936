import type { ApixoTarget } from "../apixo/endpoints.js";
import type { Clock } from "../clock.js";
import { GatewayError } from "../errors/catalog.js";
import type { ProtectionConfig } from "../config/protection.js";
import { GATEWAY_VERSION } from "../version.js";
import type { GatewayEvents, OperationLabel } from "../telemetry/events.js";
import type { Tracer } from "../telemetry/tracer.js";
import type { Breakers } from "./breaker.js";
import type { Coalescer } from "./coalesce.js";
import { backoffMs, isRetryable, outcomeOf, retryAfterMs } from "./retry.js";
import type { Transport, UpstreamAnswer } from "./transport.js";
import { UpstreamError } from "./upstreamError.js";

/** One call to APIXO, as the gateway decided it: no client request travels below the route. */
export interface UpstreamCall {
  readonly operation: OperationLabel;
  /** Canonical model id, for labels and spans. */
  readonly model: string | undefined;
  /** The upstream key's alias: the breaker's name. */
  readonly upstream: string;
  /** The APIXO key itself; only ever put in the Authorization header. */
  readonly upstreamKey: string;
  readonly target: ApixoTarget;
  readonly body?: Buffer;
  /** Sent as X-Request-Id, so APIXO's logs and ours meet. */
  readonly requestId: string;
  /** Monotonic time by which the last try must have ended (every retry stays within it). */
  readonly deadlineMs: number;
  /** statusTask and current-balance: safe to send twice. A submit is retried only if it never left. */
  readonly idempotent: boolean;
  /** Concurrent calls with the same key share one exchange (poll coalescing); unset: never shared. */
  readonly coalesceKey?: string;
  /** Told what protection decided ("retry_1", "circuit_open", "poll_coalesced"), for the audit line. */
  readonly note?: (decision: string) => void;
}

/**
 * What one call cost, whichever way it ended: APIXO's time (the audit line's upstreamMs), and time spent
 * waiting rather than working (retry backoff, joining a coalesced call), so neither counts as gateway overhead.
 */
export interface Timed {
  upstreamMs: number;
  waitMs?: number;
  /** Exchanges sent again after a failed try. */
  retries?: number;
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

export interface UpstreamClientDeps {
  /** Only `exchange` is needed, so a test can stand in for APIXO's wire without a socket. */
  readonly transport: Pick<Transport, "exchange">;
  readonly breakers: Breakers;
  readonly polls: Coalescer<UpstreamAnswer>;
  readonly clock: Clock;
  readonly events: GatewayEvents;
  readonly tracer: Tracer;
  /** Backoff jitter (retry.ts backoffMs); Math.random unless a test pins it. */
  readonly random?: () => number;
  /** Read per call, so a reload's protection settings apply at once. */
  readonly settings: () => { readonly baseUrl: string; readonly protection: ProtectionConfig };
}

type Result = { readonly answer: UpstreamAnswer } | { readonly failure: UpstreamError };

const USER_AGENT = `apixo-gateway/${GATEWAY_VERSION}`;

/**
 * The one way the gateway talks to APIXO: submits, polls and balance for clients, callback confirmations and
 * balance polls for itself. Around the transport, once: the circuit breaker, retries where they are safe
 * (retry.ts), poll coalescing, the client span with trace propagation, and the upstream metrics.
 * The account's request budget is not here: it is taken in the store with each admission (one round trip).
 */
export class UpstreamClient {
  constructor(private readonly deps: UpstreamClientDeps) {}

  /** APIXO's last answer, or throws its last UpstreamError; CircuitOpenError when open before the first try. */
  call(call: UpstreamCall, timed: Timed = { upstreamMs: 0 }): Promise<UpstreamAnswer> {
    if (call.coalesceKey === undefined) return this.protectedCall(call, timed);
    const startedMs = this.deps.clock.monotonicMs();
    const { promise, shared } = this.deps.polls.run(call.coalesceKey, () => this.protectedCall(call, timed));
    if (!shared) return promise;
    call.note?.("poll_coalesced");
    // This caller waited on someone else's exchange: a wait, not gateway work (nor its own upstream time).
    return promise.finally(() => {
      timed.waitMs = (timed.waitMs ?? 0) + this.deps.clock.monotonicMs() - startedMs;
    });
  }

  private async protectedCall(call: UpstreamCall, timed: Timed): Promise<UpstreamAnswer> {
    const { breakers, clock } = this.deps;
    const { protection } = this.deps.settings();
    let last: Result | undefined;
    for (let attempt = 1; ; attempt++) {
      const permit = breakers.acquire(call.upstream, protection.breaker);
      if (permit.kind === "open") {
        // Opened while this call was retrying: its own last result is the better answer.
        if (last !== undefined) return settled(last);
        call.note?.("circuit_open");
        throw new CircuitOpenError(permit.retryAfterMs);
      }
      const remainingMs = Math.max(1, call.deadlineMs - clock.monotonicMs());
      const result = await this.attempt(call, remainingMs, timed, attempt - 1);
      breakers.record(call.upstream, protection.breaker, permit, outcomeOf(result));
      last = result;

      if (attempt >= protection.retries.attempts || !isRetryable(call.idempotent, result))
        return settled(result);
      const hintMs = "answer" in result ? retryAfterMs(result.answer.headers, clock.now()) : 0;
      const delayMs = Math.max(backoffMs(attempt, protection.retries, this.deps.random), hintMs);
      if (clock.monotonicMs() + delayMs >= call.deadlineMs) return settled(result);
      call.note?.(`retry_${attempt}`);
      timed.retries = (timed.retries ?? 0) + 1;
      const sleptFrom = clock.monotonicMs();
      await clock.sleep(delayMs);
      timed.waitMs = (timed.waitMs ?? 0) + clock.monotonicMs() - sleptFrom;
    }
  }

  /** One exchange, timed, traced and reported; a failure comes back as a value. */
  private async attempt(
    call: UpstreamCall,
    timeoutMs: number,
    timed: Timed,
    resendCount: number,
  ): Promise<Result> {
    const { clock, tracer, events } = this.deps;
    const startedMs = clock.monotonicMs();
    const span = tracer.upstream(this.deps.settings().baseUrl, call.target, {
      operation: call.operation,
      model: call.model,
      resendCount,
    });
    try {
      const answer = await tracer.run(span, () =>
        this.deps.transport.exchange({
          method: call.target.method,
          path: call.target.path,
          query: call.target.query,
          headers: this.headersFor(call),
          body: call.body,
          timeoutMs,
        }),
      );
      // A client span is an error for any status >= 400 (OTel HTTP conventions): error.type is the status.
      tracer.end(span, answer.status >= 400 ? String(answer.status) : undefined, {
        "http.response.status_code": answer.status,
      });
      timed.upstreamMs += answer.upstreamMs;
      events.upstreamFinished({
        model: call.model,
        operation: call.operation,
        durationMs: answer.upstreamMs,
        status: answer.status,
        failure: undefined,
      });
      return { answer };
    } catch (err) {
      const failure = UpstreamError.classify(err, false);
      const durationMs = clock.monotonicMs() - startedMs;
      tracer.end(span, failure.reason, { "apixo.upstream_failure": failure.reason });
      timed.upstreamMs += durationMs;
      events.upstreamFinished({
        model: call.model,
        operation: call.operation,
        durationMs,
        status: undefined,
        failure: failure.reason,
      });
      return { failure };
    }
  }

  /** Built from what the gateway decided; nothing of the client's request is copied (CONTRACTS.md section 5). */
  private headersFor(call: UpstreamCall): Record<string, string> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${call.upstreamKey}`,
      "x-request-id": call.requestId,
      accept: "application/json",
      // The gateway reads every answer (task id, state), so it must arrive uncompressed.
      "accept-encoding": "identity",
      "user-agent": USER_AGENT,
    };
    if (call.body !== undefined) headers["content-type"] = "application/json";
    // Inside the attempt's span: APIXO continues the trace from the client span.
    this.deps.tracer.inject(headers);
    return headers;
  }
}

function settled(result: Result): UpstreamAnswer {
  if ("failure" in result) throw result.failure;
  return result.answer;
}
