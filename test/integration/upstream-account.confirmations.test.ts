import { afterEach, describe, expect, it } from "vitest";
import { MemoryCallbackStore } from "../../src/callbacks/memoryStore.js";
import type { CallbackJob, JobUpdate } from "../../src/callbacks/store.js";
import { ManualClock } from "../../src/clock.js";
import { MemoryStore } from "../../src/limits/memory.js";
import type { GovernanceStore, StatusDecision } from "../../src/limits/store.js";
import {
  CALLBACK_SECRET,
  eventually,
  metricValue,
  pause,
  startCallbackHarness,
  startReceiver,
  submitCallback,
  type Receiver,
} from "../helpers/callbackHarness.js";
import { GENEROUS_LIMITS, startHarness, type Harness } from "../helpers/gatewayHarness.js";
import { pollTask, submitTask } from "../helpers/upstreamClient.js";

let harness: Harness | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await harness?.close();
  await receiver?.close();
  harness = undefined;
  receiver = undefined;
});

/** Two tokens, and one more only every 1,000 s of the (manual) clock: nothing refills unless the test says so. */
const ACCOUNT = { requestsPerMinute: 0.06, burst: 2, maxInFlightTasks: null };
const REFILL_MS = 1_000_000;

/** The memory store, keeping what each status admission (polls and callback confirmations) decided. */
class RecordingStore extends MemoryStore {
  readonly statusDecisions: StatusDecision["kind"][] = [];

  override async admitStatus(
    request: Parameters<GovernanceStore["admitStatus"]>[0],
  ): Promise<StatusDecision> {
    const decision = await super.admitStatus(request);
    this.statusDecisions.push(decision.kind);
    return decision;
  }
}

/** The memory callback store, keeping every reschedule the worker asks for. */
class RecordingCallbackStore extends MemoryCallbackStore {
  readonly reschedules: (JobUpdate & { readonly delayMs: number })[] = [];

  override reschedule(job: CallbackJob, update: JobUpdate, delayMs: number): Promise<boolean> {
    this.reschedules.push({ ...update, delayMs });
    return super.reschedule(job, update, delayMs);
  }
}

describe("what counts against the shared APIXO account's request budget", () => {
  it("makes a callback's confirmation wait for an account token, without using up a delivery attempt", async () => {
    const clock = new ManualClock(Date.now());
    const store = new RecordingStore({ clock });
    const callbackStore = new RecordingCallbackStore(clock);
    receiver = await startReceiver();
    harness = await startCallbackHarness({
      // One status token for the tenant's own clients: the confirmation must leave it to them.
      tenants: [
        {
          id: "acme",
          callbackSecret: CALLBACK_SECRET,
          limits: { ...GENEROUS_LIMITS, status: { ratePerSec: 0.001, burst: 1 } },
        },
      ],
      config: { upstream: { protection: { account: ACCOUNT } } },
      // One attempt in all: a confirmation that used one up while waiting for the budget would be given up.
      delivery: { attempts: 1 },
      gateway: { clock, store, callbacks: { store: callbackStore } },
    });
    const h = harness;
    const r = receiver;

    // Two submits spend the account's two tokens; the second is a callback-mode task.
    expect((await submitTask(h, "acme")).status).toBe(200);
    const submitted = await submitCallback(h, r.url);
    expect(submitted.status).toBe(200);

    // APIXO calls back; the confirmation asks the store for an account token and is told to wait.
    await eventually(() => store.statusDecisions.length === 1);
    expect(store.statusDecisions).toEqual(["account_limited"]);
    expect(callbackStore.reschedules).toEqual([{ stage: "confirm", attempts: 0, delayMs: REFILL_MS }]);
    await pause(200);
    expect(h.simulator.stats.callbacks).toHaveLength(1);
    expect(h.simulator.stats.count("statusTask")).toBe(0);
    expect(r.deliveries).toHaveLength(0);
    expect(store.statusDecisions).toHaveLength(1);
    expect(await store.getTask("acme", submitted.taskId!)).toMatchObject({ state: "pending" });

    // The bucket holds a token again, and the job is due: confirmed by statusTask, settled, delivered once.
    clock.advance(REFILL_MS);
    await eventually(() => r.deliveries.length === 1);
    await pause(200);
    expect(r.deliveries).toHaveLength(1);
    expect(JSON.parse(r.deliveries[0]!.body.toString("utf8"))).toMatchObject({
      data: { taskId: submitted.taskId, state: "success" },
    });
    expect(h.simulator.stats.count("statusTask")).toBe(1);
    expect(store.statusDecisions).toEqual(["account_limited", "admitted"]);
    expect(callbackStore.reschedules).toHaveLength(1);
    expect(await store.getTask("acme", submitted.taskId!)).toMatchObject({ state: "success" });
    expect(await metricValue(h, "callbacks_total", { tenant: "acme", outcome: "delivered" })).toBe(1);
    expect(await metricValue(h, "callbacks_total", { tenant: "acme", outcome: "rejected" })).toBe(0);

    // The confirmation took the refilled account token: the next submit is refused for the account, not sent.
    const refused = await submitTask(h, "acme");
    expect(refused.status).toBe(429);
    expect(refused.json().message).toMatch(/shared APIXO account/);
    expect(h.simulator.stats.count("generateTask")).toBe(2);
    // ...and none of the tenant's own: its one status token is still there for a poll (answered from the cache).
    const polled = await pollTask(h, "acme", submitted.taskId!);
    expect(polled.status).toBe(200);
    expect(polled.headers.get("x-gateway-cache")).toBe("hit");
  });

  it("confirms a callback from the status cache when a poll already settled the task: no APIXO call, no token", async () => {
    const clock = new ManualClock(Date.now());
    const store = new RecordingStore({ clock });
    receiver = await startReceiver();
    harness = await startCallbackHarness({
      config: { upstream: { protection: { account: ACCOUNT } } },
      // APIXO calls back a moment after the task finished; the tenant polls first.
      simulator: { callbackDelayMs: 500 },
      gateway: { clock, store },
    });
    const h = harness;
    const r = receiver;
    const submitted = await submitCallback(h, r.url);
    expect(submitted.status).toBe(200);
    const polled = await pollTask(h, "acme", submitted.taskId!);
    expect(polled.json().data?.state).toBe("success");
    // The ordering this test is about: the poll settled (and cached) the task before APIXO called back.
    expect(h.simulator.stats.callbacks).toHaveLength(0);
    expect(h.simulator.stats.count("statusTask")).toBe(1);

    await eventually(() => r.deliveries.length === 1);
    await pause(200);
    expect(r.deliveries).toHaveLength(1);
    // statusTask's own bytes, kept by the cache, are what the tenant receives.
    expect(r.deliveries[0]!.body).toEqual(polled.bytes);
    expect(h.simulator.stats.count("statusTask")).toBe(1);
    // Submit and poll took the account's two tokens; the confirmation took none and needed none.
    expect(store.statusDecisions).toEqual(["admitted", "admitted"]);
    expect(await metricValue(h, "callbacks_total", { tenant: "acme", outcome: "delivered" })).toBe(1);
  });

  it("takes no account token for balance polls: with one token left, polls run and a submit still gets through", async () => {
    const clock = new ManualClock(Date.now());
    harness = await startHarness({
      config: {
        upstream: { protection: { account: ACCOUNT } },
        // The poller's own timer (real time), several rounds while the test watches.
        telemetry: { balancePollSeconds: 0.02 },
      },
      gateway: { clock },
    });
    const h = harness;
    expect((await submitTask(h, "acme")).status).toBe(200);
    // One token left; the clock does not move, so none comes back.
    await eventually(() => h.simulator.stats.count("balance") >= 3);
    expect(await metricValue(h, "upstream_balance_usd", { upstream: "main" })).toBeGreaterThan(0);

    expect((await submitTask(h, "acme")).status).toBe(200);
    // And the bucket was real: the third submit finds it empty.
    const refused = await submitTask(h, "acme");
    expect(refused.status).toBe(429);
    expect(refused.json().message).toMatch(/shared APIXO account/);
    expect(h.simulator.stats.count("generateTask")).toBe(2);
  });
});
