import { readFileSync } from "node:fs";
import { join } from "node:path";
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
import { REPO } from "../helpers/cli.js";

/** CONTRACTS.md sections 4 and 5, name and labels, exactly. */
const CONTRACT: Record<string, string[]> = {
  build_info: ["version", "node"],
  requests_total: ["tenant", "model", "operation", "code"],
  request_duration_seconds: ["model", "operation"],
  upstream_duration_seconds: ["model", "operation"],
  overhead_seconds: ["operation"],
  upstream_errors_total: ["model", "reason"],
  tasks_submitted_total: ["tenant", "model"],
  tasks_completed_total: ["tenant", "model", "state"],
  task_failures_total: ["tenant", "model", "fail_code"],
  task_duration_seconds: ["model"],
  tasks_in_flight: ["tenant"],
  spend_usd_total: ["tenant", "model"],
  refunds_usd_total: ["tenant", "model"],
  spend_today_usd: ["tenant"],
  spend_cap_usd: ["tenant"],
  rejections_total: ["tenant", "reason"],
  upstream_balance_usd: ["upstream"],
  store_errors_total: ["operation"],
  store_duration_seconds: ["operation"],
  callbacks_total: ["tenant", "outcome"],
  callback_delivery_seconds: ["outcome"],
  status_cache_total: ["result"],
  upstream_circuit_state: ["upstream"],
  account_limited_total: ["upstream", "reason"],
  config_reloads_total: ["result"],
  reservations_total: ["tenant", "fate"],
  reservations_unknown: ["tenant"],
  ledger_journal_depth: [],
  ledger_journal_dropped_total: [],
  ledger_orphans_total: ["tenant"],
  spend_month_usd: ["tenant"],
  spend_month_cap_usd: ["tenant"],
};

const CONTRACT_TYPES: Record<string, string> = {
  build_info: "gauge",
  tasks_in_flight: "gauge",
  spend_today_usd: "gauge",
  spend_cap_usd: "gauge",
  upstream_balance_usd: "gauge",
  upstream_circuit_state: "gauge",
  reservations_unknown: "gauge",
  ledger_journal_depth: "gauge",
  spend_month_usd: "gauge",
  spend_month_cap_usd: "gauge",
};

function typeOf(name: string): string {
  if (CONTRACT_TYPES[name] !== undefined) return CONTRACT_TYPES[name];
  return name.endsWith("_total") ? "counter" : "histogram";
}

const fx = telemetryFixture();
const { keys } = fx;
const gateway = fx.gateway.bind(fx);

describe("metrics exposure", () => {
  it("serves every contract metric with its exact labels, plus process metrics, on the metrics port only", async () => {
    const gw = await gateway();
    await submitAndFinish(gw, keys.acme, "nano-banana");
    const text = await scrape(gw);
    for (const [suffix, labelNames] of Object.entries(CONTRACT)) {
      expect(text, suffix).toContain(`# TYPE ${metric(suffix)} ${typeOf(suffix)}\n`);
      const samples = parseSamples(text).filter((s) => s.name.startsWith(metric(suffix)));
      for (const sample of samples) {
        const names = Object.keys(sample.labels).filter((l) => l !== "le");
        expect(names.sort(), sample.name).toEqual([...labelNames].sort());
      }
    }
    expect(text).toContain("process_cpu_seconds_total");
    expect(text).toContain("nodejs_eventloop_lag_seconds");

    expect(new URL(gw.metricsUrl).port).not.toBe(new URL(gw.url).port);
    const onPublic = await fetch(`${gw.url}/metrics`);
    expect(onPublic.status).toBe(404);
    // A 404 that says where the metrics are.
    expect(await onPublic.text()).toContain("metrics port (server.metricsPort, default 9464)");
  });

  it("says which build runs: build_info is 1 with package.json's version and the Node.js version", async () => {
    const gw = await gateway();
    const samples = parseSamples(await scrape(gw)).filter((s) => s.name === metric("build_info"));
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
    expect(samples).toHaveLength(1);
    expect(samples[0]?.labels).toEqual({ version: pkg.version, node: process.version });
    expect(samples[0]?.value).toBe(1);
  });

  it("keeps each gateway's series on its own injected registry", async () => {
    const one = await gateway();
    const two = await gateway();
    await submit(one, keys.acme, "nano-banana");
    const samples = parseSamples(await scrape(two));
    expect(valueOf(samples, metric("tasks_submitted_total"), { tenant: "acme" })).toBeUndefined();
    expect(one.registry).not.toBe(two.registry);
  });
});

describe("request and task metrics", () => {
  it("counts a submit and its completion: requests, spend, states, durations and the gateway's overhead", async () => {
    const gw = await gateway();
    await submitAndFinish(gw, keys.acme, "nano-banana");
    const s = parseSamples(await scrape(gw));
    const submitLabels = { tenant: "acme", model: "nano-banana", operation: "submit", code: "200" };
    expect(valueOf(s, metric("requests_total"), submitLabels)).toBe(1);
    expect(valueOf(s, metric("tasks_submitted_total"), { tenant: "acme", model: "nano-banana" })).toBe(1);
    expect(valueOf(s, metric("spend_usd_total"), { tenant: "acme", model: "nano-banana" })).toBeCloseTo(
      0.03,
      6,
    );
    expect(
      valueOf(s, metric("tasks_completed_total"), { tenant: "acme", model: "nano-banana", state: "success" }),
    ).toBe(1);
    expect(valueOf(s, metric("overhead_seconds_count"), { operation: "submit" })).toBe(1);
    expect(
      valueOf(s, metric("upstream_duration_seconds_count"), { model: "nano-banana", operation: "submit" }),
    ).toBe(1);
    expect(
      valueOf(s, metric("request_duration_seconds_count"), { model: "nano-banana", operation: "submit" }),
    ).toBe(1);
    expect(valueOf(s, metric("store_duration_seconds_count"), { operation: "admit_submit" })).toBe(1);
    expect(valueOf(s, metric("task_duration_seconds_count"), { model: "nano-banana" })).toBe(1);
    // Sub-millisecond buckets exist for the overhead histogram.
    expect(
      valueOf(s, metric("overhead_seconds_bucket"), { operation: "submit", le: "0.0001" }),
    ).toBeDefined();
    // The overhead is the gateway's own time, so it is below the whole request's time.
    const overheadSum = valueOf(s, metric("overhead_seconds_sum"), { operation: "submit" }) ?? NaN;
    const requestSum = valueOf(s, metric("request_duration_seconds_sum"), {
      model: "nano-banana",
      operation: "submit",
    });
    expect(overheadSum).toBeLessThanOrEqual(requestSum ?? NaN);
  });

  it("counts a failed task under its bounded fail code, with its refund", async () => {
    const gw = await gateway();
    await submitAndFinish(gw, keys.acme, "nano-banana", "a cat sim:fail=CONTENT_VIOLATION");
    await submitAndFinish(gw, keys.acme, "nano-banana", "a cat sim:fail=SomethingNobodyListed");
    const s = parseSamples(await scrape(gw));
    const labels = { tenant: "acme", model: "nano-banana" };
    expect(valueOf(s, metric("task_failures_total"), { ...labels, fail_code: "CONTENT_VIOLATION" })).toBe(1);
    expect(valueOf(s, metric("task_failures_total"), { ...labels, fail_code: "other" })).toBe(1);
    expect(valueOf(s, metric("tasks_completed_total"), { ...labels, state: "failed" })).toBe(2);
    expect(valueOf(s, metric("refunds_usd_total"), labels)).toBeCloseTo(0.06, 6);
  });

  it("counts the gateway's own refusals by reason", async () => {
    const gw = await gateway({ acmeLimits: { submit: { ratePerSec: 0.001, burst: 1 } } });
    await submit(gw, "agw_not-a-real-key", "nano-banana");
    await submit(gw, keys.acme, "midjourney");
    await submit(gw, keys.acme, "nano-banana");
    const limited = await submit(gw, keys.acme, "nano-banana");
    expect(limited.status).toBe(429);
    const s = parseSamples(await scrape(gw));
    expect(valueOf(s, metric("rejections_total"), { tenant: "none", reason: "unauthenticated" })).toBe(1);
    expect(valueOf(s, metric("rejections_total"), { tenant: "acme", reason: "model_not_allowed" })).toBe(1);
    expect(valueOf(s, metric("rejections_total"), { tenant: "acme", reason: "rate_limited" })).toBe(1);
    const unauth = { tenant: "none", model: "nano-banana", operation: "submit", code: "401" };
    expect(valueOf(s, metric("requests_total"), unauth)).toBe(1);
  });

  it("counts upstream failures by reason: reset, 5xx answer, unreadable answer", async () => {
    const gw = await gateway();
    fx.sim.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "reset" } });
    expect((await submit(gw, keys.acme, "nano-banana")).status).toBe(502);
    fx.sim.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "status", status: 503 } });
    expect((await submit(gw, keys.acme, "nano-banana")).status).toBe(503);
    fx.sim.faults.add({ endpoint: "generateTask", times: 1, action: { kind: "garbage" } });
    expect((await submit(gw, keys.acme, "nano-banana")).status).toBe(502);
    const s = parseSamples(await scrape(gw));
    const model = "nano-banana";
    expect(valueOf(s, metric("upstream_errors_total"), { model, reason: "reset" })).toBe(1);
    expect(valueOf(s, metric("upstream_errors_total"), { model, reason: "status_5xx" })).toBe(1);
    // An unreadable 200 is found by the handler after the exchange: it shows as a 502 request.
    expect(
      valueOf(s, metric("requests_total"), { tenant: "acme", model, operation: "submit", code: "502" }),
    ).toBe(2);
  });
});

describe("budget gauges", () => {
  it("report the shared store's truth at scrape time, so every replica agrees", async () => {
    const store = new MemoryStore({ clock: systemClock });
    const one = await gateway({}, { store });
    const other = await gateway({}, { store });
    const submitted = await submit(one, keys.acme, "nano-banana");
    expect(submitted.status).toBe(200);
    const s = parseSamples(await scrape(other));
    expect(valueOf(s, metric("spend_today_usd"), { tenant: "acme" })).toBeCloseTo(0.03, 6);
    expect(valueOf(s, metric("tasks_in_flight"), { tenant: "acme" })).toBe(1);
    expect(valueOf(s, metric("spend_today_usd"), { tenant: "beta" })).toBe(0);
    expect(valueOf(s, metric("spend_cap_usd"), { tenant: "acme" })).toBe(5);
    // beta has no cap: no series rather than a made-up number.
    expect(valueOf(s, metric("spend_cap_usd"), { tenant: "beta" })).toBeUndefined();
  });

  it("leave out what the store cannot answer, and the scrape still succeeds", async () => {
    const store = new MemoryStore({ clock: systemClock });
    store.snapshot = () => Promise.reject(new StoreUnavailable("store is down"));
    const gw = await gateway({}, { store });
    const s = parseSamples(await scrape(gw));
    expect(valueOf(s, metric("spend_today_usd"), { tenant: "acme" })).toBeUndefined();
    expect(valueOf(s, metric("tasks_in_flight"), { tenant: "acme" })).toBeUndefined();
    // A scrape's counters are read before its gauges' store reads finish: the errors show from the next one.
    const next = parseSamples(await scrape(gw));
    expect(
      valueOf(next, metric("store_errors_total"), { operation: "metrics_snapshot" }),
    ).toBeGreaterThanOrEqual(2);
    expect(valueOf(s, metric("spend_cap_usd"), { tenant: "acme" })).toBe(5);
  });

  it("do not hang a scrape when the store never answers", async () => {
    const store = new MemoryStore({ clock: systemClock });
    store.snapshot = () => new Promise(() => undefined);
    const gw = await gateway({}, { store });
    const before = Date.now();
    const s = parseSamples(await scrape(gw));
    expect(Date.now() - before).toBeLessThan(5_000);
    expect(valueOf(s, metric("spend_today_usd"), { tenant: "acme" })).toBeUndefined();
    expect(valueOf(s, metric("requests_total"))).toBeUndefined();
  });
});

describe("upstream balance", () => {
  it("polls each upstream key and labels the balance by alias, never by key", async () => {
    const gw = await gateway({ telemetry: { balancePollSeconds: 0.05 } });
    await submit(gw, keys.acme, "nano-banana");
    let balance: number | undefined;
    let text = "";
    for (let i = 0; i < 100 && (balance === undefined || balance === 100); i++) {
      text = await scrape(gw);
      balance = valueOf(parseSamples(text), metric("upstream_balance_usd"), { upstream: "main" });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(balance).toBeCloseTo(fx.sim.balanceUsd(UPSTREAM_KEY), 6);
    expect(balance).toBeLessThan(100);
    expect(text).not.toContain(UPSTREAM_KEY);
  });
});

describe("tenant label switch", () => {
  it("reports every tenant as 'all' when telemetry.tenantLabel is false", async () => {
    const gw = await gateway({ telemetry: { tenantLabel: false } });
    await submitAndFinish(gw, keys.acme, "nano-banana");
    await submitAndFinish(gw, keys.beta, "flux2");
    await submit(gw, "agw_bad", "nano-banana");
    const s = parseSamples(await scrape(gw));
    const tenants = new Set(s.filter((x) => "tenant" in x.labels).map((x) => x.labels.tenant));
    expect([...tenants]).toEqual(["all"]);
    expect(valueOf(s, metric("tasks_submitted_total"), { model: "nano-banana" })).toBe(1);
    expect(valueOf(s, metric("tasks_submitted_total"), { model: "flux2" })).toBe(1);
    expect(valueOf(s, metric("spend_cap_usd"))).toBe(5);
    expect(valueOf(s, metric("spend_today_usd"))).toBeCloseTo(
      0.03 + (valueOf(s, metric("spend_usd_total"), { model: "flux2" }) ?? NaN),
      6,
    );
  });
});
