import { describe, expect, it } from "vitest";
import { backoffMs, isRetryable, retryAfterMs } from "../../src/upstream/retry.js";
import { UpstreamError } from "../../src/upstream/upstreamError.js";

const answer = (status: number) => ({
  answer: { status, headers: {}, body: Buffer.alloc(0), upstreamMs: 1 },
});
const SETTINGS = { baseDelayMs: 100, maxDelayMs: 2_000 };

describe("retry policy", () => {
  it("retries idempotent calls on 429, 5xx, connect and reset only", () => {
    expect(isRetryable(true, answer(429))).toBe(true);
    expect(isRetryable(true, answer(503))).toBe(true);
    expect(isRetryable(true, answer(400))).toBe(false);
    expect(isRetryable(true, answer(200))).toBe(false);
    expect(isRetryable(true, { failure: new UpstreamError("reset", "x") })).toBe(true);
    expect(isRetryable(true, { failure: new UpstreamError("timeout", "x") })).toBe(false);
    expect(isRetryable(true, { failure: new UpstreamError("bad_response", "x") })).toBe(false);
  });

  it("retries a submit only when it provably never left the gateway", () => {
    expect(isRetryable(false, answer(503))).toBe(false);
    expect(isRetryable(false, answer(429))).toBe(false);
    expect(isRetryable(false, { failure: new UpstreamError("reset", "x") })).toBe(false);
    expect(isRetryable(false, { failure: new UpstreamError("connect", "x", { neverSent: true }) })).toBe(
      true,
    );
  });

  it("backs off exponentially with jitter, capped", () => {
    expect(backoffMs(1, SETTINGS, () => 0)).toBe(50);
    expect(backoffMs(1, SETTINGS, () => 1)).toBe(100);
    expect(backoffMs(3, SETTINGS, () => 1)).toBe(400);
    expect(backoffMs(10, SETTINGS, () => 1)).toBe(2_000);
    expect(backoffMs(10, SETTINGS, () => 0)).toBe(1_000);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.UTC(2026, 0, 1);
    expect(retryAfterMs({ "retry-after": "2" }, now)).toBe(2_000);
    expect(retryAfterMs({ "retry-after": new Date(now + 3_000).toUTCString() }, now)).toBe(3_000);
    expect(retryAfterMs({ "retry-after": "soon" }, now)).toBe(0);
    expect(retryAfterMs({}, now)).toBe(0);
  });
});
