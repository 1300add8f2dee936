import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { StoreUnavailable } from "../../src/limits/store.js";
import {
  UPSTREAM_KEY,
  metric,
  parseSamples,
  scrape,
  submit,
  submitAndFinish,
  valueOf,
  telemetryFixture,
} from "../helpers/telemetry.js";

/** The metrics alerts and panels rely on, as a fresh or troubled gateway exports them. */

const fx = telemetryFixture();
const { keys } = fx;
const gateway = fx.gateway.bind(fx);

describe("counters alerts count", () => {
  it("exist at 0 from the first scrape for every known label value, so increase() sees the first event", async () => {
    const gw = await gateway();
    const s = parseSamples(await scrape(gw));
    for (const tenant of ["acme", "beta"]) {
      for (const reason of ["rate_limited", "spend_cap", "overloaded", "unauthenticated"]) {
        expect(valueOf(s, metric("rejections_total"), { tenant, reason }), `${tenant} ${reason}`).toBe(0);
      }
      expect(valueOf(s, metric("callbacks_total"), { tenant, outcome: "failed" })).toBe(0);
    }
    for (const operation of ["admit_submit", "admit_status", "record_task", "settle", "metrics_snapshot"]) {
      expect(valueOf(s, metric("store_errors_total"), { operation }), operation).toBe(0);
    }
    for (const reason of ["timeout", "connect", "reset", "status_5xx", "bad_response"]) {
      expect(valueOf(s, metric("upstream_errors_total"), { model: "nano-banana", reason }), reason).toBe(0);
    }
    expect(valueOf(s, metric("account_limited_total"), { upstream: "main", reason: "rate" })).toBe(0);
    expect(valueOf(s, metric("upstream_observed_spend_usd_total"), { upstream: "main" })).toBe(0);
    const circuit = metric("upstream_circuit_breaker_state");
    expect(valueOf(s, circuit, { upstream: "main", state: "closed" })).toBe(1);
    expect(valueOf(s, circuit, { upstream: "main", state: "open" })).toBe(0);
  });

  it("start a tenant's task endings at 0 with its first submit, before any task can end", async () => {
    const gw = await gateway();
    await submit(gw, keys.acme, "nano-banana");
    const s = parseSamples(await scrape(gw));
    const labels = { tenant: "acme", model: "nano-banana" };
    expect(valueOf(s, metric("tasks_completed_total"), { ...labels, state: "failed" })).toBe(0);
    expect(valueOf(s, metric("task_failures_total"), { ...labels, fail_code: "CONTENT_VIOLATION" })).toBe(0);
  });

  it("never carry an empty label value", async () => {
    const gw = await gateway();
    await submit(gw, "agw_not-a-real-key", "nano-banana");
    await fetch(`${gw.url}/no/such/path`).then((r) => r.body?.cancel());
    const s = parseSamples(await scrape(gw));
    const empty = s.filter((x) => Object.values(x.labels).some((v) => v === ""));
    expect(empty.map((x) => `${x.name}${JSON.stringify(x.labels)}`)).toEqual([]);
    expect(valueOf(s, metric("rejections_total"), { tenant: "none", reason: "unauthenticated" })).toBe(1);
  });

  it("leave health probes out of the request metrics", async () => {
    const gw = await gateway();
    for (let i = 0; i < 5; i++) {
      for (const path of ["/healthz", "/readyz"]) await fetch(`${gw.url}${path}`).then((r) => r.text());
    }
    await submitAndFinish(gw, keys.acme, "nano-banana");
    const s = parseSamples(await scrape(gw));
    const requests = s.filter((x) => x.name === metric("requests_total"));
    expect(requests.map((x) => x.labels.operation).sort()).toEqual(["status", "submit"]);
  });
});

describe("budget gauges through a store outage", () => {
  it("keep the last known values, say how old they are, and are fresh again once the store answers", async () => {
    const store = new MemoryStore({ clock: systemClock });
    const read = store.snapshot.bind(store);
    let down = false;
    store.snapshot = (tenantId, day) =>
      down ? Promise.reject(new StoreUnavailable("store is down")) : read(tenantId, day);
    const gw = await gateway({}, { store });
    await submit(gw, keys.acme, "nano-banana");
    const before = parseSamples(await scrape(gw));
    expect(valueOf(before, metric("spend_today_usd"), { tenant: "acme" })).toBeCloseTo(0.03, 6);
    expect(valueOf(before, metric("budget_read_age_seconds"))).toBe(0);

    down = true;
    await new Promise((resolve) => setTimeout(resolve, 600));
    const during = parseSamples(await scrape(gw));
    expect(valueOf(during, metric("spend_today_usd"), { tenant: "acme" })).toBeCloseTo(0.03, 6);
    expect(valueOf(during, metric("spend_cap_usd"), { tenant: "acme" })).toBe(5);
    expect(valueOf(during, metric("budget_read_age_seconds"))).toBeGreaterThan(0.5);

    down = false;
    await new Promise((resolve) => setTimeout(resolve, 600));
    const after = parseSamples(await scrape(gw));
    expect(valueOf(after, metric("budget_read_age_seconds"))).toBe(0);
  });
});

describe("estimated and observed cost", () => {
  it("agree for the simulator's default prices: balance drops equal the estimated charges of every model", async () => {
    const gw = await gateway({ telemetry: { balancePollSeconds: 0.05 } });
    // The first scrape starts the poller and records the starting balance.
    await scrape(gw);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const [model, prompt] of [
      ["nano-banana", "a lighthouse"],
      ["flux2", "a lighthouse"],
      ["sora-2", "a lighthouse"],
      ["nano-banana", "sim:fail=CONTENT_VIOLATION"],
    ] as const) {
      await submitAndFinish(gw, keys.acme, model, prompt);
    }
    const spentUsd = 100 - fx.sim.balanceUsd(UPSTREAM_KEY);
    let s = parseSamples(await scrape(gw));
    for (let i = 0; i < 100; i++) {
      const observed = valueOf(s, metric("upstream_observed_spend_usd_total"), { upstream: "main" }) ?? 0;
      if (Math.abs(observed - spentUsd) < 1e-9) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
      s = parseSamples(await scrape(gw));
    }
    const upstream = { upstream: "main" };
    const estimated =
      (valueOf(s, metric("upstream_estimated_spend_usd_total"), upstream) ?? 0) -
      (valueOf(s, metric("upstream_estimated_refunds_usd_total"), upstream) ?? 0);
    expect(spentUsd).toBeGreaterThan(0.1);
    expect(valueOf(s, metric("upstream_observed_spend_usd_total"), upstream)).toBeCloseTo(spentUsd, 6);
    expect(estimated).toBeCloseTo(spentUsd, 6);
    expect(valueOf(s, metric("upstream_balance_topups_total"), upstream)).toBe(0);
    expect(valueOf(s, metric("cost_drift_threshold_ratio"))).toBe(0.2);
  });
});
