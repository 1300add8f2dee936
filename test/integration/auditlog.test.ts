import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src/gateway/gateway.js";
import type { Simulator } from "../../src/simulator/index.js";
import { logLevelFrom } from "../../src/telemetry/logger.js";
import {
  UPSTREAM_KEY,
  poll,
  startSim,
  startTestGateway,
  submit,
  tenantKeys,
  type CapturedLogs,
} from "../helpers/telemetry.js";

const PROMPT_MARKER = "prompt-text-that-must-never-be-logged";
const keys = tenantKeys();
let sim: Simulator;
let gw: RunningGateway;
let logs: CapturedLogs;

const audit = (): Record<string, unknown>[] => logs.lines().filter((l) => l.log === "audit");
const auditFor = (requestId: string): Record<string, unknown>[] =>
  audit().filter((l) => l.requestId === requestId);

/** The audit line is written on the answer's `finish`, which can trail the client's read by a tick. */
async function lineFor(requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const found = auditFor(requestId);
    if (found.length > 0) return found[0]!;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no audit line for ${requestId}`);
}

beforeAll(async () => {
  sim = await startSim();
  ({ gateway: gw, logs } = await startTestGateway(sim, keys, { telemetry: { balancePollSeconds: 0.05 } }));
});
afterAll(async () => {
  await gw.close();
  await sim.close();
});

describe("audit log", () => {
  it("writes one JSON line per request with the request's facts", async () => {
    const sent = await submit(gw, keys.acme, "nano-banana", PROMPT_MARKER, {
      "x-request-id": "audit-submit-1",
    });
    expect(sent.status).toBe(200);
    const taskId = sent.body.data?.taskId ?? "";
    const line = await lineFor("audit-submit-1");
    expect(line).toMatchObject({
      requestId: "audit-submit-1",
      tenant: "acme",
      operation: "submit",
      model: "nano-banana",
      taskId,
      status: 200,
      costUsd: 0.03,
      path: "/api/v1/generateTask/nano-banana",
      upstream: "main",
      keyLabel: "acme key",
      decisions: expect.arrayContaining(["admitted", "charged"]) as unknown,
    });
    expect(typeof line.time).toBe("string");
    expect(typeof line.latencyMs).toBe("number");
    expect(typeof line.upstreamMs).toBe("number");
    expect(line.upstreamMs as number).toBeLessThanOrEqual(line.latencyMs as number);
    expect(auditFor("audit-submit-1")).toHaveLength(1);
    // The audit line skips pino's redaction (it costs more than the rest of the line): a new field must be
    // added here on purpose, after checking it can never carry a key, a header or a prompt.
    const allowed = new Set([
      "level",
      "time",
      "service",
      "log",
      "requestId",
      "traceId",
      "tenant",
      "operation",
    ]);
    for (const field of [
      "method",
      "path",
      "model",
      "upstream",
      "keyLabel",
      "taskId",
      "status",
      "errorType",
    ]) {
      allowed.add(field);
    }
    for (const field of ["latencyMs", "upstreamMs", "waitMs", "retries", "cacheStatus"]) {
      allowed.add(field);
    }
    for (const field of ["costUsd", "refundUsd", "taskState", "failCode", "decisions"]) allowed.add(field);
    for (const line of audit()) {
      expect(Object.keys(line).filter((key) => !allowed.has(key))).toEqual([]);
    }
  });

  it("records a settled failure's refund, and a refusal's error type", async () => {
    const sent = await submit(gw, keys.acme, "nano-banana", "sim:fail=CONTENT_VIOLATION");
    const taskId = sent.body.data?.taskId ?? "";
    const res = await fetch(`${gw.url}/api/v1/statusTask/nano-banana?taskId=${taskId}`, {
      headers: { authorization: `Bearer ${keys.acme}`, "x-request-id": "audit-poll-1" },
    });
    await res.body?.cancel();
    expect(await lineFor("audit-poll-1")).toMatchObject({
      operation: "status",
      taskId,
      taskState: "failed",
      failCode: "CONTENT_VIOLATION",
      refundUsd: 0.03,
    });

    const refused = await submit(gw, keys.acme, "midjourney", "x", { "x-request-id": "audit-refused-1" });
    expect(refused.status).toBe(403);
    expect(await lineFor("audit-refused-1")).toMatchObject({ status: 403, errorType: "MODEL_NOT_ALLOWED" });
    expect((await lineFor("audit-refused-1")).costUsd).toBeUndefined();
  });

  it("names the path, the cache status and the retries a poll took", async () => {
    const sent = await submit(gw, keys.acme, "nano-banana", "x");
    const taskId = sent.body.data?.taskId ?? "";
    sim.faults.add({ endpoint: "statusTask", times: 1, action: { kind: "status", status: 503 } });
    const first = await poll(gw, keys.acme, "nano-banana", taskId, { "x-request-id": "audit-poll-retry" });
    expect(first.status).toBe(200);
    expect(await lineFor("audit-poll-retry")).toMatchObject({
      path: "/api/v1/statusTask/nano-banana",
      cacheStatus: "miss",
      retries: 1,
      upstream: "main",
    });
    await poll(gw, keys.acme, "nano-banana", taskId, { "x-request-id": "audit-poll-cached" });
    expect(await lineFor("audit-poll-cached")).toMatchObject({ cacheStatus: "hit" });
    const missing = await fetch(`${gw.url}/no/such/path?secret=1`, {
      headers: { "x-request-id": "audit-404" },
    });
    await missing.body?.cancel();
    expect(await lineFor("audit-404")).toMatchObject({ status: 404, path: "/no/such/path" });
  });

  it("carries cost only where money moved: summing costUsd - refundUsd over a run gives the ledger's spend", async () => {
    // beta's own run: charged submits, a refunded failure, polls repeated on finished tasks, refusals.
    const ids: string[] = [];
    for (const prompt of ["one", "two", "sim:fail=CONTENT_VIOLATION", "three"]) {
      const sent = await submit(gw, keys.beta, "nano-banana", prompt);
      expect(sent.status).toBe(200);
      ids.push(sent.body.data?.taskId ?? "");
    }
    expect((await submit(gw, keys.beta, "not-a-model", "refused")).status).toBeGreaterThanOrEqual(400);
    for (let round = 0; round < 3; round++) {
      for (const id of ids) await poll(gw, keys.beta, "nano-banana", id);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = audit().filter((l) => l.tenant === "beta");
    const sum = (field: string): number =>
      lines.reduce((total, l) => total + (typeof l[field] === "number" ? l[field] : 0), 0);
    const charged = Math.round(sum("costUsd") * 1e6);
    const refunded = Math.round(sum("refundUsd") * 1e6);
    expect(lines.filter((l) => l.costUsd !== undefined)).toHaveLength(ids.length);
    const ledger = await gw.store.snapshot("beta", new Date().toISOString().slice(0, 10));
    expect(charged - refunded).toBe(ledger.spentMicros);
    expect(refunded).toBe(30_000);
  });

  it("never logs a gateway key, the upstream key, an Authorization header or prompt text", async () => {
    await submit(gw, keys.beta, "nano-banana", PROMPT_MARKER);
    await submit(gw, `${keys.beta}x`, "nano-banana", PROMPT_MARKER);
    await poll(gw, keys.beta, "nano-banana", "no-such-task");
    sim.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "reset" } });
    await submit(gw, keys.beta, "nano-banana", PROMPT_MARKER);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = logs.text();
    expect(text.length).toBeGreaterThan(0);
    for (const secret of [keys.acme, keys.beta, UPSTREAM_KEY, PROMPT_MARKER, "Bearer "]) {
      expect(text, secret).not.toContain(secret);
    }
    expect(text.toLowerCase()).not.toContain('"authorization"');
  });
});

describe("log level", () => {
  it("takes LOG_LEVEL over the config, and ignores an unknown value", () => {
    expect(logLevelFrom({}, "info")).toBe("info");
    expect(logLevelFrom({ LOG_LEVEL: "debug" }, "info")).toBe("debug");
    expect(logLevelFrom({ LOG_LEVEL: "WARN" }, "info")).toBe("warn");
    expect(logLevelFrom({ LOG_LEVEL: "loud" }, "info")).toBe("info");
  });

  it("drops the audit lines below the configured level", async () => {
    const { gateway: other, logs: quiet } = await startTestGateway(sim, keys, { logLevel: "warn" });
    try {
      await submit(other, keys.beta, "nano-banana");
    } finally {
      await other.close();
    }
    expect(quiet.lines().filter((l) => l.log === "audit")).toEqual([]);
  });
});
