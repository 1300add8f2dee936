import { afterEach, describe, expect, inject, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { freePort } from "../helpers/ports.js";
import { GENEROUS_LIMITS, startHarness, type Harness } from "../helpers/gatewayHarness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const PRICE = 30_000;

async function submit(h: Harness, tenant: string, prompt = "a cat", headers: Record<string, string> = {}) {
  const response = await fetch(`${h.url}/api/v1/generateTask/nano-banana`, {
    method: "POST",
    headers: { ...h.auth(tenant), "content-type": "application/json", ...headers },
    body: JSON.stringify({ input: { prompt } }),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    taskId: (JSON.parse(text) as { data?: { taskId?: string } }).data?.taskId,
  };
}

async function poll(h: Harness, tenant: string, taskId: string, model = "nano-banana") {
  const response = await fetch(`${h.url}/api/v1/statusTask/${model}?taskId=${taskId}`, {
    headers: h.auth(tenant),
  });
  return {
    status: response.status,
    body: (await response.json()) as { data: { state?: string } | null; error?: { type: string } },
  };
}

async function spend(h: Harness, tenant: string, day: string) {
  return (await h.gateway.store.spendOfDays(tenant, [day]))[0]!;
}
const today = (): string => new Date().toISOString().slice(0, 10);

describe("the task ledger", () => {
  it("refunds a failed task once, however many concurrent polls see it fail", async () => {
    harness = await startHarness({ redisUrl: inject("redisUrl") });
    const { taskId } = await submit(harness, "acme", "please sim:violation");
    expect((await spend(harness, "acme", today())).spentMicros).toBe(PRICE);
    const polls = await Promise.all(Array.from({ length: 20 }, () => poll(harness!, "acme", taskId!)));
    for (const p of polls) expect(p.body.data?.state).toBe("failed");
    const day = await spend(harness, "acme", today());
    expect(day.spentMicros).toBe(0);
    expect(day.refundedMicros).toBe(PRICE);
    const record = await harness.gateway.store.getTask("acme", taskId!);
    expect(record).toMatchObject({ state: "failed", refundedMicros: PRICE, failCode: "CONTENT_VIOLATION" });
  });

  it("keeps the charge of a successful task and frees its in-flight slot", async () => {
    harness = await startHarness({
      tenants: [{ id: "acme", limits: { ...GENEROUS_LIMITS, maxInFlight: 1 } }],
    });
    const first = await submit(harness, "acme");
    expect(first.status).toBe(200);
    const blocked = await submit(harness, "acme");
    expect(blocked.status).toBe(429);
    expect(JSON.parse(blocked.text)).toMatchObject({ error: { type: "CONCURRENCY_LIMITED" } });
    expect((await poll(harness, "acme", first.taskId!)).body.data?.state).toBe("success");
    expect((await submit(harness, "acme")).status).toBe(200);
    expect((await spend(harness, "acme", today())).spentMicros).toBe(2 * PRICE);
  });

  it("frees the in-flight slot of a failed task too", async () => {
    harness = await startHarness({
      tenants: [{ id: "acme", limits: { ...GENEROUS_LIMITS, maxInFlight: 1 } }],
    });
    const first = await submit(harness, "acme", "sim:timeout");
    expect((await poll(harness, "acme", first.taskId!)).body.data?.state).toBe("failed");
    expect((await submit(harness, "acme")).status).toBe(200);
  });

  it("expires a task never seen to finish: slot freed, charge kept", async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 12));
    harness = await startHarness({
      tenants: [{ id: "acme", limits: { ...GENEROUS_LIMITS, maxInFlight: 1 } }],
      gateway: { clock, store: new MemoryStore({ clock }) },
      config: { governance: { taskMaxAgeMinutes: 10 } },
    });
    expect((await submit(harness, "acme")).status).toBe(200);
    expect((await submit(harness, "acme")).status).toBe(429);
    clock.advance(10 * 60_000 + 1);
    expect((await submit(harness, "acme")).status).toBe(200);
    expect((await spend(harness, "acme", "2026-11-22")).spentMicros).toBe(2 * PRICE);
  });

  it("puts a refund back on the day the task was charged, even after midnight in the tenant's zone", async () => {
    // 23:59 in Tokyo on 22 November is 14:59 UTC.
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 14, 59));
    harness = await startHarness({
      tenants: [{ id: "acme", timeZone: "Asia/Tokyo", dailyCapUsd: 10 }],
      gateway: { clock, store: new MemoryStore({ clock }) },
      simulator: { clock, pendingMs: 0, processingMs: 120_000 },
    });
    const { taskId } = await submit(harness, "acme", "sim:fail=GENERATION_FAILED");
    clock.advance(2 * 60_000);
    expect((await poll(harness, "acme", taskId!)).body.data?.state).toBe("failed");
    const [charged, next] = await harness.gateway.store.spendOfDays("acme", ["2026-11-22", "2026-11-23"]);
    expect(charged).toMatchObject({ spentMicros: 0, refundedMicros: PRICE });
    expect(next).toMatchObject({ spentMicros: 0, refundedMicros: 0 });
  });

  it("does not refund failed tasks when the policy says so", async () => {
    harness = await startHarness({ config: { governance: { noRefundFailCodes: ["CONTENT_VIOLATION"] } } });
    const { taskId } = await submit(harness, "acme", "sim:violation");
    await poll(harness, "acme", taskId!);
    expect((await spend(harness, "acme", today())).spentMicros).toBe(PRICE);
  });
});

describe("a rejected submit costs nothing", () => {
  for (const status of [400, 402, 500]) {
    it(`releases the reservation and the slot when APIXO answers ${status}`, async () => {
      harness = await startHarness({
        tenants: [{ id: "acme", limits: { ...GENEROUS_LIMITS, maxInFlight: 1 } }],
      });
      const body = `{"code":${status},"message":"no","data":null}`;
      harness.simulator.faults.add({
        endpoint: "generateTask",
        times: 1,
        action: { kind: "status", status, body },
      });
      const rejected = await submit(harness, "acme");
      expect(rejected.status).toBe(status);
      expect(rejected.text).toBe(body);
      expect((await spend(harness, "acme", today())).spentMicros).toBe(0);
      expect((await submit(harness, "acme")).status).toBe(200);
    });
  }

  it("releases the reservation when the submit provably never reached APIXO (connection refused)", async () => {
    const closedPort = await freePort();
    harness = await startHarness({ config: { upstream: { baseUrl: `http://127.0.0.1:${closedPort}` } } });
    expect((await submit(harness, "acme")).status).toBe(502);
    expect((await spend(harness, "acme", today())).spentMicros).toBe(0);
  });
});

describe("a submit whose outcome is unknown keeps its charge", () => {
  const cases = [
    ["the connection is reset after sending", { kind: "reset" }, 502],
    ["APIXO's 200 is unreadable", { kind: "garbage" }, 502],
  ] as const;
  for (const [what, action, status] of cases) {
    it(`keeps the reservation when ${what}, so retries cannot spend past the cap`, async () => {
      harness = await startHarness({ tenants: [{ id: "acme", dailyCapUsd: 0.06 }] });
      harness.simulator.faults.add({ endpoint: "generateTask", action });
      expect((await submit(harness, "acme")).status).toBe(status);
      expect((await submit(harness, "acme")).status).toBe(status);
      // Two unknown outcomes used the whole $0.06 cap: a third attempt is refused before reaching APIXO.
      expect((await submit(harness, "acme")).status).toBe(402);
      expect((await spend(harness, "acme", today())).spentMicros).toBe(2 * PRICE);
      expect(harness.simulator.stats.count("generateTask")).toBe(2);
    });
  }

  it("keeps the reservation when APIXO does not answer in time", async () => {
    harness = await startHarness({ config: { upstream: { timeoutMs: 200 } } });
    harness.simulator.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "hang" } });
    expect((await submit(harness, "acme")).status).toBe(504);
    expect((await spend(harness, "acme", today())).spentMicros).toBe(PRICE);
  });
});

describe("task ownership", () => {
  it("answers 404 TASK_NOT_FOUND to another tenant's poll without asking APIXO", async () => {
    harness = await startHarness({ tenants: [{ id: "alpha" }, { id: "beta" }] });
    const { taskId } = await submit(harness, "alpha");
    const before = harness.simulator.stats.count("statusTask");
    const foreign = await poll(harness, "beta", taskId!);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error?.type).toBe("TASK_NOT_FOUND");
    const unknown = await poll(harness, "beta", "0123456789abcdef0123456789abcdef");
    expect(unknown.body).toMatchObject({ error: { type: "TASK_NOT_FOUND" } });
    expect(harness.simulator.stats.count("statusTask")).toBe(before);
    expect((await poll(harness, "alpha", taskId!)).status).toBe(200);
  });

  it("answers 404 when the model in the path is not the task's", async () => {
    harness = await startHarness();
    const { taskId } = await submit(harness, "acme");
    expect((await poll(harness, "acme", taskId!, "flux2")).status).toBe(404);
    expect((await poll(harness, "acme", taskId!, "nano-banana")).status).toBe(200);
  });
});

describe("idempotency keys", () => {
  it("turns 20 concurrent submits with one key into one task, one charge and 20 identical answers", async () => {
    harness = await startHarness({ redisUrl: inject("redisUrl") });
    harness.simulator.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "delay", ms: 200 } });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => submit(harness!, "acme", "a cat", { "idempotency-key": "order-42" })),
    );
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(harness.simulator.stats.count("generateTask")).toBe(1);
    expect((await spend(harness, "acme", today())).spentMicros).toBe(PRICE);
  });

  it("answers a replay as a governed response: RateLimit and budget headers, and a token of the submit bucket", async () => {
    harness = await startHarness({
      tenants: [
        {
          id: "acme",
          dailyCapUsd: 1,
          limits: { ...GENEROUS_LIMITS, submit: { ratePerSec: 0.001, burst: 3 } },
        },
      ],
    });
    const send = () =>
      fetch(`${harness!.url}/api/v1/generateTask/nano-banana`, {
        method: "POST",
        headers: { ...harness!.auth("acme"), "content-type": "application/json", "idempotency-key": "k-1" },
        body: JSON.stringify({ input: { prompt: "a cat" } }),
      });
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const response = await send();
      answers.push({
        status: response.status,
        replayed: response.headers.get("idempotent-replayed"),
        remaining: response.headers.get("ratelimit-remaining"),
        budget: response.headers.get("x-budget-remaining-usd"),
        retryAfter: response.headers.get("retry-after"),
        text: await response.text(),
      });
    }
    expect(answers.map((a) => [a.status, a.replayed, a.remaining, a.budget])).toEqual([
      [200, null, "2", "0.97"],
      [200, "true", "1", "0.97"],
      [200, "true", "0", "0.97"],
      [429, null, "0", null],
    ]);
    expect(answers[1]?.text).toBe(answers[0]?.text);
    expect(answers[3]?.retryAfter).not.toBeNull();
    expect(harness.simulator.stats.count("generateTask")).toBe(1);
    expect((await spend(harness, "acme", today())).spentMicros).toBe(PRICE);
  });

  it("starts a new task for a new key", async () => {
    harness = await startHarness();
    const a = await submit(harness, "acme", "x", { "idempotency-key": "a" });
    const b = await submit(harness, "acme", "x", { "idempotency-key": "b" });
    expect(a.taskId).not.toBe(b.taskId);
  });
});
