import type { IncomingHttpHeaders } from "node:http";
import { trace, TraceFlags, type Span } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { statusTarget, submitTarget } from "../../src/apixo/endpoints.js";
import { ManualClock } from "../../src/clock.js";
import { protectionSchema } from "../../src/config/protection.js";
import { noEvents, type GatewayEvents } from "../../src/telemetry/events.js";
import { noopTracer, type Tracer } from "../../src/telemetry/tracer.js";
import { Breakers } from "../../src/upstream/breaker.js";
import { CircuitOpenError, UpstreamClient, type UpstreamCall } from "../../src/upstream/client.js";
import { Coalescer } from "../../src/upstream/coalesce.js";
import { backoffMs } from "../../src/upstream/retry.js";
import type { Exchange, UpstreamAnswer } from "../../src/upstream/transport.js";
import { UpstreamError } from "../../src/upstream/upstreamError.js";
import { GATEWAY_VERSION } from "../../src/version.js";

const KEY = "sk-upstream-secret-0123456789";
const RETRIES = { attempts: 3, baseDelayMs: 100, maxDelayMs: 2_000 };
/** Jitter pinned to its middle: every wait is exactly what retry.ts computes for it. */
const RANDOM = (): number => 0.5;

/** What the stand-in APIXO does with one exchange. */
type Step =
  | { readonly status: number; readonly headers?: IncomingHttpHeaders; readonly upstreamMs?: number }
  | { readonly fail: UpstreamError; readonly tookMs?: number }
  | { readonly hold: true; readonly tookMs?: number };

/**
 * APIXO's wire, in process: answers each exchange with the next scripted step and records what it was sent.
 * A `hold` step answers only when the test calls `release`; `tookMs` moves the clock as the exchange's time.
 */
class ScriptedTransport {
  readonly sent: Exchange[] = [];
  private readonly held: ((answer: UpstreamAnswer) => void)[] = [];

  constructor(
    private readonly clock: ManualClock,
    private readonly steps: Step[],
  ) {}

  exchange(exchange: Exchange): Promise<UpstreamAnswer> {
    this.sent.push(exchange);
    const step = this.steps.shift() ?? { status: 200 };
    if ("hold" in step) return new Promise((resolve) => this.held.push(resolve));
    if ("fail" in step) {
      this.clock.advance(step.tookMs ?? 0);
      return Promise.reject(step.fail);
    }
    return Promise.resolve({
      status: step.status,
      headers: { "content-type": "application/json", ...step.headers },
      body: Buffer.from(`{"code":${step.status}}`),
      upstreamMs: step.upstreamMs ?? 1,
    });
  }

  release(answer: Partial<UpstreamAnswer> = {}): void {
    this.held.shift()?.({
      status: 200,
      headers: {},
      body: Buffer.from('{"code":200}'),
      upstreamMs: 1,
      ...answer,
    });
  }
}

function setup(steps: Step[], protection: Record<string, unknown> = {}, tracer: Tracer = noopTracer) {
  const clock = new ManualClock();
  const transport = new ScriptedTransport(clock, steps);
  const finished: string[] = [];
  const events: GatewayEvents = {
    ...noEvents,
    upstreamFinished: (e) => finished.push(`${e.operation} ${e.status ?? e.failure}`),
  };
  const settings = { baseUrl: "http://apixo.test", protection: protectionSchema.parse(protection) };
  const client = new UpstreamClient({
    transport,
    breakers: new Breakers(clock, noEvents),
    polls: new Coalescer<UpstreamAnswer>(),
    clock,
    events,
    tracer,
    random: RANDOM,
    settings: () => settings,
  });
  const notes: string[] = [];
  const call = (overrides: Partial<UpstreamCall> = {}): UpstreamCall => ({
    operation: "status",
    model: "nano-banana",
    upstream: "main",
    upstreamKey: KEY,
    target: statusTarget("nano-banana", "t-1"),
    requestId: "req-1",
    deadlineMs: clock.monotonicMs() + 30_000,
    idempotent: true,
    note: (decision) => notes.push(decision),
    ...overrides,
  });
  return { clock, transport, client, call, notes, finished };
}

/** Lets the client's promise chains run (no timers: nothing here waits on real time). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

/** Waits for the call to sleep, then moves the clock `ms` and lets it run again. */
async function sleepsFor(clock: ManualClock, ms: number, attempts: () => number): Promise<void> {
  await until(() => clock.sleeping === 1);
  const before = attempts();
  clock.advance(ms - 1);
  await until(() => true);
  expect(attempts()).toBe(before);
  expect(clock.sleeping).toBe(1);
  clock.advance(1);
  await until(() => attempts() === before + 1);
}

describe("the upstream client's retries, on a manual clock", () => {
  it("retries an idempotent call after 5xx, waiting exactly retry.ts's backoff each time", async () => {
    const { clock, transport, client, call, notes } = setup([
      { status: 503 },
      { status: 502 },
      { status: 200 },
    ]);
    const answer = client.call(call());
    const attempts = () => transport.sent.length;
    // Equal jitter at 0.5: 75 ms, then 150 ms.
    expect(backoffMs(1, RETRIES, RANDOM)).toBe(75);
    expect(backoffMs(2, RETRIES, RANDOM)).toBe(150);
    await sleepsFor(clock, 75, attempts);
    await sleepsFor(clock, 150, attempts);
    expect((await answer).status).toBe(200);
    expect(attempts()).toBe(3);
    expect(notes).toEqual(["retry_1", "retry_2"]);
  });

  it("stops after `attempts` tries and gives APIXO's last answer", async () => {
    const { clock, transport, client, call } = setup([{ status: 503 }, { status: 503 }, { status: 504 }]);
    const answer = client.call(call());
    await sleepsFor(clock, 75, () => transport.sent.length);
    await sleepsFor(clock, 150, () => transport.sent.length);
    expect((await answer).status).toBe(504);
    expect(clock.sleeping).toBe(0);
  });

  it("waits for APIXO's Retry-After when it is longer than the backoff", async () => {
    const { clock, transport, client, call } = setup([
      { status: 429, headers: { "retry-after": "2" } },
      { status: 200 },
    ]);
    const answer = client.call(call());
    await sleepsFor(clock, 2_000, () => transport.sent.length);
    expect((await answer).status).toBe(200);
  });

  it("keeps the backoff when APIXO's Retry-After is shorter", async () => {
    const { clock, transport, client, call } = setup([
      { status: 503, headers: { "retry-after": "0.01" } },
      { status: 200 },
    ]);
    const answer = client.call(call());
    await sleepsFor(clock, 75, () => transport.sent.length);
    expect((await answer).status).toBe(200);
  });

  it("makes no retry that would end past the deadline, and gives each try only the time left", async () => {
    const { clock, transport, client, call, notes } = setup([
      { fail: new UpstreamError("reset", "reset"), tookMs: 300 },
      { status: 503, headers: { "retry-after": "1" } },
    ]);
    const answer = client.call(call({ deadlineMs: 1_000 }));
    await sleepsFor(clock, 75, () => transport.sent.length);
    // 375 ms are gone: the second try may take the remaining 625 ms, and its Retry-After of 1 s would end past
    // the deadline, so APIXO's 503 is the answer at once.
    expect(transport.sent.map((e) => e.timeoutMs)).toEqual([1_000, 625]);
    expect((await answer).status).toBe(503);
    expect(clock.sleeping).toBe(0);
    expect(notes).toEqual(["retry_1"]);
  });

  it("never retries what retry.ts calls final: a timeout, a 4xx, an unreadable answer", async () => {
    for (const step of [
      { fail: new UpstreamError("timeout", "slow") },
      { status: 400 },
      { fail: new UpstreamError("bad_response", "garbage") },
    ]) {
      const { transport, client, call } = setup([step, { status: 200 }]);
      const result = await client.call(call()).then(
        (a) => a.status,
        (err: unknown) => (err instanceof UpstreamError ? err.reason : err),
      );
      expect(result).toBe("status" in step ? step.status : step.fail.reason);
      expect(transport.sent).toHaveLength(1);
    }
  });

  it("retries a submit only when it provably never left the gateway", async () => {
    const submit = { operation: "submit", target: submitTarget("nano-banana"), idempotent: false } as const;
    const body = Buffer.from('{"input":{"prompt":"x"}}');

    const refused = setup([
      { fail: new UpstreamError("connect", "refused", { neverSent: true }) },
      { status: 200 },
    ]);
    const accepted = refused.client.call(refused.call({ ...submit, body }));
    await sleepsFor(refused.clock, 75, () => refused.transport.sent.length);
    expect((await accepted).status).toBe(200);
    expect(refused.transport.sent.map((e) => e.body)).toEqual([body, body]);

    // After a reset or a timeout APIXO may have started the (paid) task; its own 5xx is its answer.
    for (const step of [
      { fail: new UpstreamError("reset", "reset") },
      { fail: new UpstreamError("timeout", "slow") },
      { status: 503 },
    ]) {
      const { transport, client, call, clock } = setup([step, { status: 200 }]);
      const outcome = await client.call(call({ ...submit, body })).then(
        (a) => a.status,
        (err: unknown) => (err instanceof UpstreamError ? err.reason : err),
      );
      expect(outcome).toBe("status" in step ? step.status : step.fail.reason);
      expect(transport.sent).toHaveLength(1);
      expect(clock.sleeping).toBe(0);
    }
  });
});

describe("the upstream client's breaker and coalescing", () => {
  const TRIP = { breaker: { windowSize: 1, minRequests: 1, failureRatio: 1, coolDownMs: 10_000, probes: 1 } };

  it("throws CircuitOpenError before the first try while the circuit is open: APIXO is not asked", async () => {
    const { transport, client, call, notes } = setup([{ status: 503 }], {
      ...TRIP,
      retries: { attempts: 1 },
    });
    expect((await client.call(call())).status).toBe(503);
    const refused = await client.call(call()).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(refused).toMatchObject({ type: "UPSTREAM_UNAVAILABLE", status: 503, retryAfterSec: 10 });
    expect(transport.sent).toHaveLength(1);
    expect(notes).toEqual(["circuit_open"]);
  });

  it("gives a call its own last answer when the circuit opens while it retries", async () => {
    const { clock, transport, client, call, notes } = setup([{ status: 503 }, { status: 200 }], TRIP);
    const answer = client.call(call());
    await until(() => clock.sleeping === 1);
    clock.advance(75);
    expect((await answer).status).toBe(503);
    expect(transport.sent).toHaveLength(1);
    expect(notes).toEqual(["retry_1"]);
  });

  it("lets concurrent calls with one coalesceKey share one exchange; the next call makes a new one", async () => {
    const { clock, transport, client, call, notes } = setup([{ hold: true }, { status: 200 }]);
    const owner = { upstreamMs: 0, waitMs: 0 };
    const joiner = { upstreamMs: 0, waitMs: 0 };
    const first = client.call(call({ coalesceKey: "main|nano-banana|t-1" }), owner);
    const second = client.call(call({ coalesceKey: "main|nano-banana|t-1" }), joiner);
    clock.advance(25);
    transport.release({ upstreamMs: 40, body: Buffer.from("shared") });
    const [a, b] = await Promise.all([first, second]);
    expect(a.body.toString()).toBe("shared");
    expect(b).toBe(a);
    expect(transport.sent).toHaveLength(1);
    expect(notes).toEqual(["poll_coalesced"]);
    // The owner counts the exchange's own time; the joiner waited for it (a wait, not its upstream time, and
    // never gateway overhead).
    expect(owner).toEqual({ upstreamMs: 40, waitMs: 0 });
    expect(joiner).toEqual({ upstreamMs: 0, waitMs: 25 });

    await client.call(call({ coalesceKey: "main|nano-banana|t-1" }));
    expect(transport.sent).toHaveLength(2);
  });

  it("never shares calls without a coalesceKey", async () => {
    const { transport, client, call } = setup([{ status: 200 }, { status: 200 }]);
    await Promise.all([client.call(call()), client.call(call())]);
    expect(transport.sent).toHaveLength(2);
  });
});

describe("what the upstream client sends and reports", () => {
  it("sums every attempt's upstream time into `timed`, and the backoff between them as waits, with the resends", async () => {
    const { clock, transport, client, call, finished } = setup([
      { fail: new UpstreamError("reset", "reset"), tookMs: 25 },
      { status: 503, upstreamMs: 30 },
      { status: 200, upstreamMs: 40 },
    ]);
    const timed = { upstreamMs: 5, waitMs: 0, retries: 0 };
    const answer = client.call(call(), timed);
    await sleepsFor(clock, 75, () => transport.sent.length);
    await sleepsFor(clock, 150, () => transport.sent.length);
    await answer;
    expect(timed.upstreamMs).toBe(5 + 25 + 30 + 40);
    // The backoff is a wait, so the request's overhead (duration - upstream - waits) does not count it.
    expect(timed.waitMs).toBe(75 + 150);
    expect(timed.retries).toBe(2);
    expect(finished).toEqual(["status reset", "status 503", "status 200"]);
  });

  it("builds the request only from the call: APIXO's key, the request id and the gateway's own headers", async () => {
    const { transport, client, call } = setup([{ status: 200 }, { status: 200 }]);
    await client.call(call());
    const body = Buffer.from('{"input":{"prompt":"x"}}');
    await client.call(
      call({ operation: "submit", target: submitTarget("nano-banana"), body, idempotent: false }),
    );
    const gatewayHeaders = {
      authorization: `Bearer ${KEY}`,
      "x-request-id": "req-1",
      accept: "application/json",
      "accept-encoding": "identity",
      "user-agent": `apixo-gateway/${GATEWAY_VERSION}`,
    };
    expect(transport.sent[0]).toEqual({
      method: "GET",
      path: "/api/v1/statusTask/nano-banana",
      query: "taskId=t-1",
      headers: gatewayHeaders,
      body: undefined,
      timeoutMs: 30_000,
    });
    expect(transport.sent[1]).toEqual({
      method: "POST",
      path: "/api/v1/generateTask/nano-banana",
      query: "",
      headers: { ...gatewayHeaders, "content-type": "application/json" },
      body,
      timeoutMs: 30_000,
    });
  });

  it("sends each attempt's traceparent, injected inside that attempt's client span", async () => {
    let active: Span | undefined;
    let spans = 0;
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const spanId = (n: number): string => n.toString(16).padStart(16, "0");
    const tracer: Tracer = {
      ...noopTracer,
      upstream: () =>
        trace.wrapSpanContext({ traceId, spanId: spanId(++spans), traceFlags: TraceFlags.SAMPLED }),
      run: (span, fn) => {
        active = span;
        try {
          return fn();
        } finally {
          active = undefined;
        }
      },
      inject: (headers) => {
        if (active === undefined) return;
        headers.traceparent = `00-${traceId}-${active.spanContext().spanId}-01`;
      },
    };
    const { clock, transport, client, call } = setup([{ status: 503 }, { status: 200 }], {}, tracer);
    const answer = client.call(call());
    await sleepsFor(clock, 75, () => transport.sent.length);
    await answer;
    expect(transport.sent.map((e) => e.headers.traceparent)).toEqual([
      `00-${traceId}-${spanId(1)}-01`,
      `00-${traceId}-${spanId(2)}-01`,
    ]);
  });
});
