import { afterEach, describe, expect, it } from "vitest";
import { noEvents, type GatewayEvents } from "../../src/telemetry/events.js";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";
import { freePort } from "../helpers/ports.js";
import { newTask, pollTask, submitTask } from "../helpers/upstreamClient.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const today = (): string => new Date().toISOString().slice(0, 10);
const FAST_RETRIES = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 };

describe("safe retries", () => {
  it("retries a poll through two 503s and the client sees APIXO's 200", async () => {
    harness = await startHarness({ config: { upstream: { protection: { retries: FAST_RETRIES } } } });
    const taskId = await newTask(harness, "acme");
    harness.simulator.faults.add({
      endpoint: "statusTask",
      times: 2,
      action: { kind: "status", status: 503 },
    });
    const answer = await pollTask(harness, "acme", taskId);
    expect(answer.status).toBe(200);
    expect(answer.json().data?.state).toBe("success");
    expect(harness.simulator.stats.count("statusTask")).toBe(3);
  });

  it("gives up after the configured attempts and passes APIXO's last 5xx through", async () => {
    harness = await startHarness({ config: { upstream: { protection: { retries: FAST_RETRIES } } } });
    const taskId = await newTask(harness, "acme");
    harness.simulator.faults.add({
      endpoint: "statusTask",
      times: 5,
      action: { kind: "status", status: 500 },
    });
    expect((await pollTask(harness, "acme", taskId)).status).toBe(500);
    expect(harness.simulator.stats.count("statusTask")).toBe(3);
  });

  it("honours APIXO's Retry-After on a 429 before polling again", async () => {
    harness = await startHarness({ config: { upstream: { protection: { retries: FAST_RETRIES } } } });
    const taskId = await newTask(harness, "acme");
    harness.simulator.faults.add({
      endpoint: "statusTask",
      times: 1,
      action: { kind: "status", status: 429, headers: { "retry-after": "1" } },
    });
    const answer = await pollTask(harness, "acme", taskId);
    expect(answer.status).toBe(200);
    const times = harness.simulator.stats.requests
      .filter((r) => r.endpoint === "statusTask")
      .map((r) => r.at);
    expect(times).toHaveLength(2);
    // The simulator's clock stamps each request: the retry waited at least APIXO's second.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
  });

  it("never retries a 4xx", async () => {
    harness = await startHarness({ config: { upstream: { protection: { retries: FAST_RETRIES } } } });
    const taskId = await newTask(harness, "acme");
    harness.simulator.faults.add({
      endpoint: "statusTask",
      times: 1,
      action: { kind: "status", status: 404 },
    });
    expect((await pollTask(harness, "acme", taskId)).status).toBe(404);
    expect(harness.simulator.stats.count("statusTask")).toBe(1);
  });

  it("does not retry a submit that reached APIXO: the client sees the 503 and nothing is charged", async () => {
    harness = await startHarness({ config: { upstream: { protection: { retries: FAST_RETRIES } } } });
    harness.simulator.faults.add({
      endpoint: "generateTask",
      times: 2,
      action: { kind: "status", status: 503 },
    });
    const answer = await submitTask(harness, "acme");
    expect(answer.status).toBe(503);
    expect(harness.simulator.stats.count("generateTask")).toBe(1);
    const [day] = await harness.gateway.store.spendOfDays("acme", [today()]);
    expect(day?.spentMicros).toBe(0);
    expect((await harness.gateway.store.snapshot("acme", today())).inFlight).toBe(0);
  });

  it("does not retry a submit whose connection was reset after sending", async () => {
    harness = await startHarness({ config: { upstream: { protection: { retries: FAST_RETRIES } } } });
    harness.simulator.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "reset" } });
    expect((await submitTask(harness, "acme")).status).toBe(502);
    expect(harness.simulator.stats.count("generateTask")).toBe(1);
  });

  it("retries a submit that provably never left the gateway (connection refused)", async () => {
    const attempts: string[] = [];
    const events: GatewayEvents = {
      ...noEvents,
      upstreamFinished: (e) => {
        if (e.operation === "submit") attempts.push(e.failure ?? String(e.status));
      },
    };
    const closedPort = await freePort();
    harness = await startHarness({
      config: {
        upstream: { baseUrl: `http://127.0.0.1:${closedPort}`, protection: { retries: FAST_RETRIES } },
      },
      gateway: { events },
    });
    const answer = await submitTask(harness, "acme");
    expect(answer.status).toBe(502);
    expect(answer.json().error?.type).toBe("UPSTREAM_UNAVAILABLE");
    expect(attempts).toEqual(["connect", "connect", "connect"]);
    const [day] = await harness.gateway.store.spendOfDays("acme", [today()]);
    expect(day?.spentMicros).toBe(0);
  });
});
