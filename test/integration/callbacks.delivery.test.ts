import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { afterEach, describe, expect, inject, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { StoreUnavailable } from "../../src/limits/store.js";
import type { Harness } from "../helpers/gatewayHarness.js";
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

let harness: Harness | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await harness?.close();
  await receiver?.close();
  harness = undefined;
  receiver = undefined;
});

const PRICE = 30_000;
const OTHER_SECRET = "whsec_QW5vdGhlclRlbmFudHNTZWNyZXRLZXk=";
const today = (): string => new Date().toISOString().slice(0, 10);

/** Exactly the receiver code docs/callbacks.md shows: the standardwebhooks library, throwing when not verified. */
function verifyAsDocumented(secret: string, delivery: Receiver["deliveries"][number], raw = false): boolean {
  const wh = raw ? new Webhook(secret, { format: "raw" }) : new Webhook(secret);
  try {
    wh.verify(delivery.body, delivery.headers as Record<string, string>);
    return true;
  } catch (err) {
    if (err instanceof WebhookVerificationError) return false;
    throw err;
  }
}

describe("callback mode, end to end", () => {
  it("delivers APIXO's envelope to the tenant exactly once, signed, and never shows APIXO the tenant's URL", async () => {
    receiver = await startReceiver();
    harness = await startCallbackHarness();
    const submitted = await submitCallback(harness, receiver.url);
    expect(submitted.status).toBe(200);

    await eventually(
      () => receiver!.deliveries.length === 1 && harness!.simulator.stats.callbacks.length === 1,
    );
    await pause(200);
    expect(receiver.deliveries).toHaveLength(1);
    const [delivery] = receiver.deliveries;
    expect(delivery!.headers["webhook-id"]).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
    expect(delivery!.headers["webhook-timestamp"]).toMatch(/^\d{10}$/);
    expect(delivery!.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(delivery!.headers["x-apixo-gateway-signature"]).toBeUndefined();
    expect(verifyAsDocumented(CALLBACK_SECRET, delivery!)).toBe(true);
    expect(verifyAsDocumented(OTHER_SECRET, delivery!)).toBe(false);
    const apixoCallback = harness.simulator.stats.callbacks[0]!;
    expect(delivery!.body.toString("utf8")).toBe(apixoCallback.body);
    expect(JSON.parse(apixoCallback.body)).toMatchObject({
      data: { taskId: submitted.taskId, state: "success" },
    });

    const forwarded = harness.simulator.stats.requests.find((r) => r.endpoint === "generateTask")!;
    const forwardedText = forwarded.body.toString("utf8");
    expect(forwardedText).not.toContain(receiver.url);
    expect(apixoCallback.url).toMatch(
      new RegExp(`^${harness.url}/callbacks/apixo/acme\\.[A-Za-z0-9_-]{43}$`),
    );
    // Every other byte is the client's: only the callback_url string differs.
    expect(forwardedText).toBe(
      submitted.body.replace(JSON.stringify(receiver.url), JSON.stringify(apixoCallback.url)),
    );
    expect(await metricValue(harness, "callbacks_total", { tenant: "acme", outcome: "delivered" })).toBe(1);
    expect(await metricValue(harness, "tasks_completed_total", { tenant: "acme", state: "success" })).toBe(1);
  });

  it("refunds a failed task once when APIXO calls back twice and the tenant polls too", async () => {
    receiver = await startReceiver();
    harness = await startCallbackHarness({
      redisUrl: inject("redisUrl"),
      simulator: { callbackDuplicates: 2 },
    });
    const { taskId } = await submitCallback(harness, receiver.url, "please sim:violation");
    const polls = await Promise.all(
      Array.from({ length: 5 }, () =>
        fetch(`${harness!.url}/api/v1/statusTask/nano-banana?taskId=${taskId}`, {
          headers: harness!.auth("acme"),
        }),
      ),
    );
    for (const p of polls) expect(p.status).toBe(200);
    await eventually(
      () => harness!.simulator.stats.callbacks.length === 3 && receiver!.deliveries.length >= 1,
    );
    await pause(200);
    // APIXO retrying after the delivery finished: answered 200, and still no second delivery.
    const late = harness.simulator.stats.callbacks[0]!;
    const again = await fetch(late.url, {
      method: "POST",
      body: late.body,
      headers: { "content-type": "application/json" },
    });
    expect(again.status).toBe(200);
    await pause(200);

    expect(receiver.deliveries).toHaveLength(1);
    expect(JSON.parse(receiver.deliveries[0]!.body.toString("utf8"))).toMatchObject({
      data: { taskId, state: "failed", failCode: "CONTENT_VIOLATION" },
    });
    const [day] = await harness.gateway.store.spendOfDays("acme", [today()]);
    expect(day).toMatchObject({ spentMicros: 0, refundedMicros: PRICE });
    expect(await harness.gateway.store.getTask("acme", taskId!)).toMatchObject({
      state: "failed",
      refundedMicros: PRICE,
    });
    expect(await metricValue(harness, "tasks_completed_total", { tenant: "acme", state: "failed" })).toBe(1);
    expect(
      await metricValue(harness, "task_failures_total", { tenant: "acme", fail_code: "CONTENT_VIOLATION" }),
    ).toBe(1);
  });
});

describe("delivery retries", () => {
  it("retries a tenant endpoint that is down with growing backoff and delivers once it is back", async () => {
    receiver = await startReceiver();
    receiver.answer = (attempt) => (attempt <= 2 ? 503 : 200);
    harness = await startCallbackHarness();
    await submitCallback(harness, receiver.url);
    await eventually(() => receiver!.deliveries.some((d) => d.status === 200));
    await pause(200);

    expect(receiver.deliveries.map((d) => d.status)).toEqual([503, 503, 200]);
    const bodies = new Set(receiver.deliveries.map((d) => d.body.toString("utf8")));
    expect(bodies.size).toBe(1);
    // One delivery, three tries: one webhook-id (the receiver's idempotency key), each try verifiable.
    const ids = new Set(receiver.deliveries.map((d) => d.headers["webhook-id"]));
    expect(ids.size).toBe(1);
    for (const d of receiver.deliveries) expect(verifyAsDocumented(CALLBACK_SECRET, d)).toBe(true);
    // Jitter is pinned to its top (random = 1): the waits are base * 2^(n-1).
    const waits = harness.logs
      .records()
      .filter((r) => r.event === "callback_delivery_retry")
      .map((r) => r.delayMs);
    expect(waits).toEqual([20, 40]);
    expect(await metricValue(harness, "callbacks_total", { tenant: "acme", outcome: "retried" })).toBe(2);
    expect(await metricValue(harness, "callbacks_total", { tenant: "acme", outcome: "delivered" })).toBe(1);
  });

  it("gives up after the configured attempts and counts the delivery as failed", async () => {
    receiver = await startReceiver();
    receiver.answer = () => 500;
    harness = await startCallbackHarness({ delivery: { attempts: 3 } });
    await submitCallback(harness, receiver.url);
    await eventually(
      async () => (await metricValue(harness!, "callbacks_total", { outcome: "failed" })) === 1,
    );
    await pause(300);

    expect(receiver.deliveries).toHaveLength(3);
    expect(await metricValue(harness, "callbacks_total", { tenant: "acme", outcome: "failed" })).toBe(1);
    expect(await metricValue(harness, "callbacks_total", { tenant: "acme", outcome: "retried" })).toBe(2);
    expect(await metricValue(harness, "callbacks_total", { tenant: "acme", outcome: "delivered" })).toBe(0);
  });

  it("does not follow a redirect from the tenant's endpoint", async () => {
    receiver = await startReceiver();
    receiver.answer = () => 307;
    harness = await startCallbackHarness({ delivery: { attempts: 2 } });
    await submitCallback(harness, receiver.url);
    await eventually(
      async () => (await metricValue(harness!, "callbacks_total", { outcome: "failed" })) === 1,
    );
    expect(receiver.deliveries).toHaveLength(2);
  });
});

describe("a callback whose settlement fails", () => {
  it("is settled from the ledger journal once the store answers, and delivered once: the failed task is still refunded", async () => {
    receiver = await startReceiver();
    const clock = systemClock;
    const store = new MemoryStore({ clock });
    const settle = store.settleTask.bind(store);
    let failures = 0;
    store.settleTask = (request) => {
      if (failures === 0) {
        failures += 1;
        return Promise.reject(new StoreUnavailable("simulated store fault while settling"));
      }
      return settle(request);
    };
    harness = await startCallbackHarness({ gateway: { store } });
    const { taskId } = await submitCallback(harness, receiver.url, "please sim:violation");
    await eventually(() => receiver!.deliveries.length === 1);
    await pause(100);
    expect(failures).toBe(1);
    expect(receiver.deliveries).toHaveLength(1);
    expect(await store.getTask("acme", taskId!)).toMatchObject({ state: "failed", refundedMicros: PRICE });
    await eventually(() => harness!.logs.lines.some((l) => l.includes('"ledger_journal_drained"')));
    expect(harness.logs.lines.some((l) => l.includes('"ledger_journal_started"'))).toBe(true);
  });
});

describe("Standard Webhooks signatures", () => {
  it("give each delivery its own webhook-id", async () => {
    receiver = await startReceiver();
    harness = await startCallbackHarness();
    await submitCallback(harness, receiver.url, "first");
    await submitCallback(harness, receiver.url, "second");
    await eventually(() => receiver!.deliveries.length === 2);
    const [a, b] = receiver.deliveries;
    expect(a!.headers["webhook-id"]).not.toBe(b!.headers["webhook-id"]);
    for (const d of receiver.deliveries) expect(verifyAsDocumented(CALLBACK_SECRET, d)).toBe(true);
  });

  it("take a raw (non-whsec_) callbackSecret as the key bytes, as the library's raw mode does", async () => {
    const raw = "acme-raw-secret-0123456789";
    receiver = await startReceiver();
    harness = await startCallbackHarness({ tenants: [{ id: "acme", callbackSecret: raw }] });
    await submitCallback(harness, receiver.url);
    await eventually(() => receiver!.deliveries.length === 1);
    const [delivery] = receiver.deliveries;
    expect(verifyAsDocumented(raw, delivery!, true)).toBe(true);
    expect(verifyAsDocumented(`whsec_${Buffer.from(raw, "ascii").toString("base64")}`, delivery!)).toBe(true);
    expect(verifyAsDocumented(CALLBACK_SECRET, delivery!)).toBe(false);
  });
});
