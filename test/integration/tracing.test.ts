import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src/gateway/gateway.js";
import type { Simulator } from "../../src/simulator/index.js";
import { GATEWAY_VERSION } from "../../src/version.js";
import { startTracing, tracingRequested, type Tracing } from "../../src/telemetry/tracing.js";
import {
  poll,
  startSim,
  startTestGateway,
  submit,
  tenantKeys,
  type CapturedLogs,
} from "../helpers/telemetry.js";

const exporter = new InMemorySpanExporter();
const keys = tenantKeys();
let tracing: Tracing;
let sim: Simulator;
let gw: RunningGateway;
let logs: CapturedLogs;
let requestCounter = 0;

const nextRequestId = (): string => `trace-test-${++requestCounter}`;

/** The server span is ended on the answer's `finish`, which can trail the client's read by a tick. */
async function serverSpan(requestId: string): Promise<ReadableSpan> {
  for (let i = 0; i < 100; i++) {
    const span = exporter
      .getFinishedSpans()
      .find((s) => s.kind === SpanKind.SERVER && s.attributes["apixo.request_id"] === requestId);
    if (span !== undefined) return span;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no server span for ${requestId}`);
}

/** The first finished span that matches, once it has ended (a span ended after the answer may still be open). */
async function finishedSpan(matches: (span: ReadableSpan) => boolean): Promise<ReadableSpan | undefined> {
  for (let i = 0; i < 100; i++) {
    const span = exporter.getFinishedSpans().find(matches);
    if (span !== undefined) return span;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return undefined;
}

function childrenOf(parent: ReadableSpan): ReadableSpan[] {
  return exporter
    .getFinishedSpans()
    .filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
}

beforeAll(async () => {
  tracing = await startTracing({ env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  sim = await startSim();
  ({ gateway: gw, logs } = await startTestGateway(sim, keys, {
    acmeLimits: { submit: { ratePerSec: 0.001, burst: 2 } },
    gateway: { tracer: tracing.tracer },
  }));
});
afterAll(async () => {
  await gw.close();
  await sim.close();
  await tracing.shutdown();
});

describe("tracing switch", () => {
  it("starts only when an OTLP endpoint is configured", () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" })).toBe(
      true,
    );
    expect(
      tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" }),
    ).toBe(false);
  });

  it("is a no-op without an endpoint", async () => {
    const off = await startTracing({ env: {} });
    expect(off.enabled).toBe(false);
    await off.shutdown();
  });
});

describe("request spans", () => {
  let submitTaskId = "";

  it("gives a submit one server span by the HTTP conventions, an upstream client child, store children and a linked record", async () => {
    const requestId = nextRequestId();
    const sent = await submit(gw, keys.acme, "nano-banana", "a quiet harbour", { "x-request-id": requestId });
    expect(sent.status).toBe(200);
    submitTaskId = sent.body.data?.taskId ?? "";
    const span = await serverSpan(requestId);
    expect(span.name).toBe("POST /api/v1/generateTask/{model}");
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.resource.attributes).toMatchObject({
      "service.name": "apixo-gateway",
      "service.version": GATEWAY_VERSION,
    });
    expect(span.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/api/v1/generateTask/{model}",
      "url.path": "/api/v1/generateTask/nano-banana",
      "url.scheme": "http",
      "server.address": "127.0.0.1",
      "server.port": Number(new URL(gw.url).port),
      "apixo.tenant": "acme",
      "apixo.model": "nano-banana",
      "apixo.operation": "submit",
      "apixo.task_id": submitTaskId,
      "apixo.cost_usd": 0.03,
      "http.response.status_code": 200,
    });
    expect(typeof span.attributes["client.address"]).toBe("string");
    expect(typeof span.attributes["user_agent.original"]).toBe("string");
    expect(span.attributes["error.type"]).toBeUndefined();
    // Decision events are named by their kind; amounts are attributes, never part of a name.
    expect(span.events.map((e) => e.name)).toEqual(expect.arrayContaining(["admitted", "charged"]));
    for (const event of span.events) expect(event.name).toMatch(/^[a-z_]+$/);

    const children = childrenOf(span);
    const upstream = children.find((s) => s.name === "POST /api/v1/generateTask/{model}");
    expect(upstream?.attributes).toMatchObject({
      "apixo.operation": "submit",
      "http.response.status_code": 200,
    });
    // The call to APIXO is the client span of the trace, with its HTTP facts; nothing doubles it.
    expect(upstream?.kind).toBe(SpanKind.CLIENT);
    expect(upstream?.attributes).toMatchObject({
      "http.request.method": "POST",
      "server.address": "127.0.0.1",
      "server.port": Number(new URL(sim.url).port),
      "url.full": `${sim.url}/api/v1/generateTask/nano-banana`,
    });
    expect(upstream?.attributes["http.request.resend_count"]).toBeUndefined();
    expect(upstream === undefined ? ["missing"] : childrenOf(upstream)).toEqual([]);
    // Store calls are database client spans: db.system.name and the operation (the store's script).
    const admit = children.find((s) => s.attributes["db.operation.name"] === "admit_submit");
    expect(admit?.name).toBe("admit_submit memory");
    expect(admit?.kind).toBe(SpanKind.CLIENT);
    expect(admit?.attributes["db.system.name"]).toBe("memory");
    expect(children.map((s) => s.attributes["db.operation.name"])).not.toContain("record_task");
    // The task's record goes to the store with the other records of its event-loop turn, after the answer:
    // a span of its own, linked to the submit's (and to any other submit of the batch).
    const record = await finishedSpan(
      (s) =>
        s.attributes["db.operation.name"] === "record_task" &&
        s.links.some((l) => l.context.spanId === span.spanContext().spanId),
    );
    expect(record?.name).toBe("record_task memory");
    expect(record?.kind).toBe(SpanKind.CLIENT);
    expect(record?.parentSpanContext).toBeUndefined();
    expect(record?.links.find((l) => l.context.spanId === span.spanContext().spanId)).toMatchObject({
      context: { traceId: span.spanContext().traceId },
      attributes: { "apixo.link": "submit" },
    });

    // W3C traceparent went upstream, in the same trace.
    const upstreamRequest = sim.stats.requests.find(
      (r) => r.endpoint === "generateTask" && r.headers["x-request-id"] === requestId,
    );
    const traceparent = String(upstreamRequest?.headers.traceparent);
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    expect(traceparent.split("-")[1]).toBe(span.spanContext().traceId);

    // The audit line carries the trace id, so a log line leads to its trace.
    const line = logs.lines().find((l) => l.log === "audit" && l.requestId === requestId);
    expect(line?.traceId).toBe(span.spanContext().traceId);
  });

  it("gives a status poll the task id of its submit, with the task state", async () => {
    const polled = await poll(gw, keys.acme, "nano-banana", submitTaskId);
    expect(polled.status).toBe(200);
    const span = exporter
      .getFinishedSpans()
      .filter((s) => s.kind === SpanKind.SERVER && s.attributes["apixo.operation"] === "status")
      .at(-1);
    expect(span?.attributes).toMatchObject({
      "apixo.task_id": submitTaskId,
      "apixo.tenant": "acme",
      "apixo.task_state": "success",
    });
    // A poll is a trace of its own, linked to the submit's span through the ledger record.
    const submitSpan = exporter
      .getFinishedSpans()
      .find((s) => s.kind === SpanKind.SERVER && s.attributes["apixo.task_id"] === submitTaskId);
    expect(span?.links.map((l) => l.context.spanId)).toEqual([submitSpan?.spanContext().spanId]);
    expect(span?.links[0]?.context.traceId).toBe(submitSpan?.spanContext().traceId);
    expect(span?.links[0]?.attributes).toEqual({ "apixo.link": "submit" });
  });

  it("records a failed task's fail code on its poll span", async () => {
    const sent = await submit(gw, keys.beta, "nano-banana", "sim:fail=CONTENT_VIOLATION");
    const taskId = sent.body.data?.taskId ?? "";
    await poll(gw, keys.beta, "nano-banana", taskId);
    const span = exporter
      .getFinishedSpans()
      .find((s) => s.attributes["apixo.operation"] === "status" && s.attributes["apixo.task_id"] === taskId);
    expect(span?.attributes).toMatchObject({
      "apixo.task_state": "failed",
      "apixo.fail_code": "CONTENT_VIOLATION",
    });
  });

  it("marks a rejection with the limit decision as an event and no upstream call", async () => {
    await submit(gw, keys.acme, "nano-banana");
    const requestId = nextRequestId();
    const limited = await submit(gw, keys.acme, "nano-banana", "one more", { "x-request-id": requestId });
    expect(limited.status).toBe(429);
    const span = await serverSpan(requestId);
    expect(span.attributes).toMatchObject({
      "apixo.error_type": "RATE_LIMITED",
      "http.response.status_code": 429,
    });
    expect(span.events.map((e) => e.name)).toContain("rate_limited");
    expect(childrenOf(span).filter((s) => s.attributes["url.full"] !== undefined)).toEqual([]);
    // A 4xx is the client's: not an error on the server span.
    expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it("marks an upstream failure as an error on the upstream span and the server span", async () => {
    sim.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "reset" } });
    const requestId = nextRequestId();
    const failed = await submit(gw, keys.beta, "nano-banana", "x", { "x-request-id": requestId });
    expect(failed.status).toBe(502);
    const span = await serverSpan(requestId);
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes["apixo.error_type"]).toBe("UPSTREAM_UNAVAILABLE");
    expect(span.attributes["error.type"]).toBe("UPSTREAM_UNAVAILABLE");
    const upstream = childrenOf(span).find((s) => s.kind === SpanKind.CLIENT && s.attributes["url.full"]);
    expect(upstream?.status.code).toBe(SpanStatusCode.ERROR);
    expect(upstream?.attributes["error.type"]).toBe("reset");
    expect(upstream?.attributes["apixo.upstream_failure"]).toBe("reset");
    // A reset after sending leaves the outcome unknown: the reservation is kept, not released.
    expect(childrenOf(span).map((s) => s.attributes["db.operation.name"])).not.toContain("release");
  });

  it("numbers a poll's resends on its client spans (http.request.resend_count) and names retries by kind", async () => {
    const sent = await submit(gw, keys.beta, "nano-banana", "x");
    const taskId = sent.body.data?.taskId ?? "";
    sim.faults.add({ endpoint: "statusTask", times: 1, action: { kind: "status", status: 503 } });
    const requestId = nextRequestId();
    const res = await fetch(`${gw.url}/api/v1/statusTask/nano-banana?taskId=${taskId}`, {
      headers: { authorization: `Bearer ${keys.beta}`, "x-request-id": requestId },
    });
    await res.body?.cancel();
    const span = await serverSpan(requestId);
    expect(span.name).toBe("GET /api/v1/statusTask/{model}");
    const tries = childrenOf(span).filter((s) => s.kind === SpanKind.CLIENT && s.attributes["url.full"]);
    expect(tries.map((s) => s.attributes["http.request.resend_count"])).toEqual([undefined, 1]);
    expect(tries[0]?.attributes["error.type"]).toBe("503");
    const retry = span.events.find((e) => e.name === "retry");
    expect(retry?.attributes).toEqual({ "apixo.retry.attempt": 1 });
  });

  it("makes no span for health probes", async () => {
    const before = exporter.getFinishedSpans().length;
    for (const path of ["/healthz", "/readyz"]) await (await fetch(`${gw.url}${path}`)).text();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(exporter.getFinishedSpans().slice(before)).toEqual([]);
  });

  it("continues the client's trace when it sends a traceparent", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentId = "00f067aa0ba902b7";
    const requestId = nextRequestId();
    await submit(gw, keys.beta, "nano-banana", "x", {
      "x-request-id": requestId,
      traceparent: `00-${traceId}-${parentId}-01`,
    });
    const span = await serverSpan(requestId);
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe(parentId);
  });

  it("gives each background balance poll a trace of its own, its exchange with APIXO inside", async () => {
    const { gateway: polling } = await startTestGateway(sim, keys, {
      telemetry: { balancePollSeconds: 0.05 },
      gateway: { tracer: tracing.tracer },
    });
    try {
      await fetch(polling.metricsUrl).then((r) => r.text());
      let poll: ReadableSpan | undefined;
      for (let i = 0; i < 100 && poll === undefined; i++) {
        poll = exporter.getFinishedSpans().find((s) => s.name === "balance poll");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(poll?.parentSpanContext).toBeUndefined();
      expect(poll?.attributes["apixo.upstream"]).toBe("main");
      const inside = poll === undefined ? [] : childrenOf(poll);
      expect(inside.map((s) => s.name)).toEqual(["GET /api/v1/apikeys/current-balance"]);
    } finally {
      await polling.close();
    }
  });

  it("never puts a key into a span", () => {
    const dump = JSON.stringify(
      exporter.getFinishedSpans().map((s) => ({ a: s.attributes, e: s.events, n: s.name })),
    );
    expect(dump).not.toContain(keys.acme);
    expect(dump).not.toContain(keys.beta);
    expect(dump).not.toContain("sk-sim-test");
  });
});
