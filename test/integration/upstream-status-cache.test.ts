import { afterEach, describe, expect, inject, it } from "vitest";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";
import { metricValue, newTask, pollTask } from "../helpers/upstreamClient.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe.each([
  ["memory", undefined],
  ["redis", "redis"],
] as const)("status cache and coalescing (%s store)", (_name, kind) => {
  const start = (options: Parameters<typeof startHarness>[0] = {}) =>
    startHarness({ ...(kind === undefined ? {} : { redisUrl: inject("redisUrl") }), ...options });

  it("answers 1,000 polls of a finished task with one APIXO call, byte for byte", async () => {
    harness = await start();
    const taskId = await newTask(harness, "acme");
    const first = await pollTask(harness, "acme", taskId);
    expect(first.json().data?.state).toBe("success");
    // The first poll passed APIXO's answer through byte for byte; every later poll must get those bytes.
    expect(harness.simulator.stats.count("statusTask")).toBe(1);

    const h = harness;
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => pollTask(h, "acme", taskId)));
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.bytes.equals(first.bytes)).toBe(true);
        expect(answer.headers.get("content-type")).toBe(first.headers.get("content-type"));
        expect(answer.headers.get("x-gateway-cache")).toBe("hit");
      }
    }
    expect(harness.simulator.stats.count("statusTask")).toBe(1);
    expect(await metricValue(harness, "status_cache_total", { result: "hit" })).toBe(1000);
    expect(await metricValue(harness, "status_cache_total", { result: "miss" })).toBe(1);
  });

  it("never answers another tenant's poll from the cache", async () => {
    harness = await start({ tenants: [{ id: "acme" }, { id: "globex" }] });
    const taskId = await newTask(harness, "acme");
    expect((await pollTask(harness, "acme", taskId)).status).toBe(200);
    const stranger = await pollTask(harness, "globex", taskId);
    expect(stranger.status).toBe(404);
    expect(stranger.json().error?.type).toBe("TASK_NOT_FOUND");
    expect(harness.simulator.stats.count("statusTask")).toBe(1);
  });

  it("asks APIXO again for every poll when the cache is off", async () => {
    harness = await start({ config: { upstream: { protection: { statusCache: false } } } });
    const taskId = await newTask(harness, "acme");
    for (let i = 0; i < 3; i++) expect((await pollTask(harness, "acme", taskId)).status).toBe(200);
    expect(harness.simulator.stats.count("statusTask")).toBe(3);
  });

  it("shares one APIXO request among 50 concurrent polls of a running task", async () => {
    harness = await start({ simulator: { pendingMs: 600_000 } });
    const taskId = await newTask(harness, "acme");
    // APIXO is slow to answer the first poll, so all 50 arrive while it is still out.
    harness.simulator.faults.add({ endpoint: "statusTask", times: 1, action: { kind: "delay", ms: 1_500 } });
    const h = harness;
    const answers = await Promise.all(Array.from({ length: 50 }, () => pollTask(h, "acme", taskId)));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.json().data?.state).toBe("pending");
      expect(answer.bytes.equals(answers[0]!.bytes)).toBe(true);
    }
    expect(harness.simulator.stats.count("statusTask")).toBe(1);
    // Coalescing holds only while a request is out: the next poll is a fresh one (no stale answer).
    await pollTask(harness, "acme", taskId);
    expect(harness.simulator.stats.count("statusTask")).toBe(2);
  });
});
