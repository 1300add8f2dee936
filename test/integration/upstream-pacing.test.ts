import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";
import { newTask, pollTask } from "../helpers/upstreamClient.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("early-poll pacing", () => {
  it("answers a poll long before the task can finish from the last known state, with Retry-After", async () => {
    const clock = new ManualClock();
    harness = await startHarness({
      simulator: { pendingMs: 600_000 },
      config: {
        upstream: { protection: { earlyPollPacing: { enabled: true, minAgeMs: { image: 60_000 } } } },
      },
      gateway: { clock },
    });
    const taskId = await newTask(harness, "acme");
    const first = await pollTask(harness, "acme", taskId);
    expect(first.json().data?.state).toBe("pending");
    clock.advance(15_000);
    const paced = await pollTask(harness, "acme", taskId);
    expect(paced.status).toBe(200);
    expect(paced.bytes.equals(first.bytes)).toBe(true);
    expect(paced.headers.get("retry-after")).toBe("45");
    expect(paced.headers.get("x-gateway-cache")).toBe("paced");
    expect(harness.simulator.stats.count("statusTask")).toBe(1);
    // Once the task could have finished, polls reach APIXO again.
    clock.advance(45_000);
    expect((await pollTask(harness, "acme", taskId)).headers.get("x-gateway-cache")).toBeNull();
    expect(harness.simulator.stats.count("statusTask")).toBe(2);
  });

  it("is off by default: every poll of a running task reaches APIXO", async () => {
    harness = await startHarness({ simulator: { pendingMs: 600_000 } });
    const taskId = await newTask(harness, "acme");
    for (let i = 0; i < 3; i++) expect((await pollTask(harness, "acme", taskId)).status).toBe(200);
    expect(harness.simulator.stats.count("statusTask")).toBe(3);
  });
});
