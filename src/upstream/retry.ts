import type { IncomingHttpHeaders } from "node:http";
import type { UpstreamAnswer } from "./transport.js";
import type { CallOutcome } from "./breaker.js";
import type { UpstreamError } from "./upstreamError.js";

/**
 * When a call to APIXO may be tried again. Idempotent calls (statusTask, current-balance): after a connect
 * error, a reset, 429 or 5xx. A submit: only when it provably never left the gateway, because a submit that
 * reached APIXO may have started a paid task even if its answer was lost.
 */
export function isRetryable(
  idempotent: boolean,
  result: { readonly answer: UpstreamAnswer } | { readonly failure: UpstreamError },
): boolean {
  if ("failure" in result) {
    if (!idempotent) return result.failure.neverSent;
    return result.failure.reason === "connect" || result.failure.reason === "reset";
  }
  return idempotent && (result.answer.status === 429 || result.answer.status >= 500);
}

/** What the breaker learns from one attempt: only APIXO being down or failing counts against it. */
export function outcomeOf(
  result: { readonly answer: UpstreamAnswer } | { readonly failure: UpstreamError },
): CallOutcome {
  if ("failure" in result) return result.failure.reason === "bad_response" ? "neutral" : "failure";
  if (result.answer.status >= 500) return "failure";
  return result.answer.status === 429 ? "neutral" : "success";
}

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so replicas retrying the same
 * incident spread out but never retry at once. `retry` is 1 for the first retry.
 */
export function backoffMs(
  retry: number,
  settings: { readonly baseDelayMs: number; readonly maxDelayMs: number },
  random: () => number = Math.random,
): number {
  const step = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(step / 2 + (random() * step) / 2);
}

/** APIXO's Retry-After (seconds or an HTTP date) in milliseconds; 0 when absent or unreadable. */
export function retryAfterMs(headers: IncomingHttpHeaders, nowMs: number): number {
  const value = headers["retry-after"];
  if (value === undefined || value.trim() === "") return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? 0 : Math.max(0, at - nowMs);
}
