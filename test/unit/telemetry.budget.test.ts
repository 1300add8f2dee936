import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { newContext } from "../../src/routes/context.js";
import type { RequestRecord } from "../../src/telemetry/events.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { createMetrics, type GatewayMetrics } from "../../src/telemetry/metrics.js";
import type { BudgetReading } from "../../src/telemetry/metricsView.js";
import { buildSnapshot } from "../../src/tenants/snapshot.js";

const CONFIG = `
upstream:
  keys:
    - alias: main
      key: sk-budget-unit
telemetry:
  featureLabels: [search, chat]
tenants:
  - id: acme
    keys: [{ hash: "sha256:${"0".repeat(64)}" }]
    upstreamKey: main
    timeZone: Asia/Tokyo
    dailyCapUsd: 5
    monthlyCapUsd: 100
  - id: beta
    keys: [{ hash: "sha256:${"1".repeat(64)}" }]
    upstreamKey: main
    timeZone: America/Los_Angeles
`;

interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

interface Harness {
  readonly metrics: GatewayMetrics;
  /** One scrape: every series of the gateway's own metrics by name. */
  scrape(): Promise<Map<string, readonly Sample[]>>;
  /** The store answers these figures per tenant; undefined: the read fails. */
  store: Map<string, Omit<BudgetReading, "tenantId">> | undefined;
  /** The monotonic clock of the read age. */
  monotonicMs: number;
  /** Which zone each monthElapsed call asked about. */
  readonly zonesAsked: string[];
}

function harness(tenantLabel = true): Harness {
  const registry = new Registry();
  const snapshot = buildSnapshot(parseConfig(CONFIG, {}), 0);
  const h: Harness = {
    metrics: undefined as unknown as GatewayMetrics,
    store: new Map(),
    monotonicMs: 0,
    zonesAsked: [],
    async scrape() {
      const byName = new Map<string, Sample[]>();
      for (const m of await registry.getMetricsAsJSON()) {
        if (!m.name.startsWith("apixo_gateway_")) continue;
        byName.set(
          m.name.slice("apixo_gateway_".length),
          m.values.map((v) => ({ labels: v.labels as Record<string, string>, value: v.value })),
        );
      }
      return byName;
    },
  };
  const metrics = createMetrics({
    registry,
    view: () => snapshot.metrics,
    readBudget: (tenantId) => {
      const figures = h.store?.get(tenantId);
      return figures === undefined
        ? Promise.reject(new Error("store down"))
        : Promise.resolve({ tenantId, ...figures });
    },
    monthElapsed: (timeZone) => {
      h.zonesAsked.push(timeZone);
      return timeZone === "Asia/Tokyo" ? 0.5 : 0.25;
    },
    monotonicMs: () => h.monotonicMs,
    tenantLabel,
    logger: createLogger("silent"),
    defaultMetrics: false,
  });
  return Object.assign(h, { metrics });
}

const figures = (spentUsd: number, monthUsd: number): Omit<BudgetReading, "tenantId"> => ({
  spentMicros: spentUsd * 1e6,
  monthSpentMicros: monthUsd * 1e6,
  inFlight: 0,
  unknownOutcomes: 0,
});

/** The value of the series with exactly these labels (undefined: no such series). */
function valueOf(
  scraped: Map<string, readonly Sample[]>,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  const same = (s: Sample) =>
    Object.keys(s.labels).length === Object.keys(labels).length &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return scraped.get(name)?.find(same)?.value;
}

/** A submit's record as the routes make it (newContext's facts), with what a test changes. */
function record(overrides: Partial<RequestRecord>): RequestRecord {
  const snapshot = buildSnapshot(parseConfig(CONFIG, {}), 0);
  const { facts } = newContext({ requestId: "req-1", method: "POST", startedMs: 0, snapshot });
  return {
    ...facts,
    operation: "submit",
    tenant: "acme",
    model: "nano-banana",
    requestId: "req-1",
    traceId: undefined,
    method: "POST",
    path: "/api/v1/generateTask/nano-banana",
    probe: false,
    status: 200,
    durationMs: 10,
    ...overrides,
  };
}

const submitted = (tenant: string, costMicros: number, feature?: string) => ({
  tenant,
  upstream: "main",
  model: "nano-banana",
  costMicros,
  ...(feature === undefined ? {} : { feature }),
});

beforeEach(() => {
  // The budget reader shares one store read between scrapes less than 500 ms apart (wall clock).
  vi.useFakeTimers({ toFake: ["Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});
const nextScrape = (): void => {
  vi.setSystemTime(Date.now() + 1_000);
};

describe("monthly budget gauges", () => {
  it("report each tenant's month spend from the store, and the monthly cap only where one is configured", async () => {
    const h = harness();
    h.store?.set("acme", figures(2, 42.5));
    h.store?.set("beta", figures(1, 7));
    const s = await h.scrape();
    expect(valueOf(s, "spend_month_usd", { tenant: "acme" })).toBe(42.5);
    expect(valueOf(s, "spend_month_usd", { tenant: "beta" })).toBe(7);
    expect(valueOf(s, "spend_today_usd", { tenant: "acme" })).toBe(2);
    expect(valueOf(s, "spend_month_cap_usd", { tenant: "acme" })).toBe(100);
    // beta has no monthly cap: no series rather than a made-up number.
    expect(valueOf(s, "spend_month_cap_usd", { tenant: "beta" })).toBeUndefined();
    expect(s.get("spend_month_cap_usd")).toHaveLength(1);
  });

  it("export each tenant's elapsed share of its own month, asked in its own time zone", async () => {
    const h = harness();
    const s = await h.scrape();
    expect(valueOf(s, "spend_month_elapsed_ratio", { tenant: "acme" })).toBe(0.5);
    expect(valueOf(s, "spend_month_elapsed_ratio", { tenant: "beta" })).toBe(0.25);
    expect(h.zonesAsked.sort()).toEqual(["America/Los_Angeles", "Asia/Tokyo"]);
  });

  it("keep the month spend through a store outage, with the read age saying how old it is", async () => {
    const h = harness();
    h.store?.set("acme", figures(2, 42.5));
    h.store?.set("beta", figures(1, 7));
    await h.scrape();
    h.store = undefined;
    h.monotonicMs = 30_000;
    nextScrape();
    const during = await h.scrape();
    expect(valueOf(during, "spend_month_usd", { tenant: "acme" })).toBe(42.5);
    expect(valueOf(during, "budget_read_age_seconds", {})).toBe(30);
    // The projection's other half does not need the store at all.
    expect(valueOf(during, "spend_month_elapsed_ratio", { tenant: "acme" })).toBe(0.5);
    h.store = new Map([["acme", figures(3, 43.5)]]);
    nextScrape();
    const after = await h.scrape();
    expect(valueOf(after, "spend_month_usd", { tenant: "acme" })).toBe(43.5);
  });

  it("with the tenant label off: month spend and caps are sums under all, the elapsed share the least elapsed", async () => {
    const h = harness(false);
    h.store?.set("acme", figures(2, 40));
    h.store?.set("beta", figures(1, 7));
    const s = await h.scrape();
    expect(valueOf(s, "spend_month_usd", { tenant: "all" })).toBe(47);
    expect(valueOf(s, "spend_month_cap_usd", { tenant: "all" })).toBe(100);
    expect(valueOf(s, "spend_month_elapsed_ratio", { tenant: "all" })).toBe(0.25);
  });
});

describe("spend by feature", () => {
  it("labels a listed feature by its value, any other as other, none without the header", async () => {
    const h = harness();
    h.metrics.events.taskSubmitted(submitted("acme", 30_000, "search"));
    h.metrics.events.taskSubmitted(submitted("acme", 50_000, "checkout-v2"));
    h.metrics.events.taskSubmitted(submitted("acme", 70_000));
    const s = await h.scrape();
    expect(valueOf(s, "feature_spend_usd_total", { tenant: "acme", feature: "search" })).toBe(0.03);
    expect(valueOf(s, "feature_spend_usd_total", { tenant: "acme", feature: "other" })).toBe(0.05);
    expect(valueOf(s, "feature_spend_usd_total", { tenant: "acme", feature: "none" })).toBe(0.07);
    expect(s.get("feature_spend_usd_total")?.some((x) => x.labels.feature === "checkout-v2")).toBe(false);
  });

  it("adds up per tenant to spend_usd_total and refunds_usd_total", async () => {
    const h = harness();
    h.metrics.events.taskSubmitted(submitted("acme", 30_000, "search"));
    h.metrics.events.taskSubmitted(submitted("acme", 40_000, "unlisted"));
    h.metrics.events.taskSubmitted(submitted("beta", 20_000));
    h.metrics.events.taskFinished({
      tenant: "acme",
      upstream: "main",
      model: "nano-banana",
      state: "failed",
      failCode: "GENERATION_FAILED",
      refundedMicros: 40_000,
      costTimeMs: undefined,
      feature: "unlisted",
    });
    const s = await h.scrape();
    const total = (name: string, tenant: string) =>
      (s.get(name) ?? []).filter((x) => x.labels.tenant === tenant).reduce((sum, x) => sum + x.value, 0);
    for (const tenant of ["acme", "beta"]) {
      expect(total("feature_spend_usd_total", tenant)).toBeCloseTo(total("spend_usd_total", tenant), 9);
      expect(total("feature_refunds_usd_total", tenant)).toBeCloseTo(total("refunds_usd_total", tenant), 9);
    }
    expect(valueOf(s, "feature_refunds_usd_total", { tenant: "acme", feature: "other" })).toBe(0.04);
  });

  it("starts every tenant's listed features, other and none at 0 from the first scrape", async () => {
    const h = harness();
    const s = await h.scrape();
    for (const name of ["feature_spend_usd_total", "feature_refunds_usd_total"]) {
      const series = (s.get(name) ?? []).map((x) => `${String(x.labels.tenant)}/${String(x.labels.feature)}`);
      expect(series.sort(), name).toEqual(
        ["acme", "beta"].flatMap((t) => ["chat", "none", "other", "search"].map((f) => `${t}/${f}`)),
      );
      expect((s.get(name) ?? []).every((x) => x.value === 0)).toBe(true);
    }
  });

  it("never makes the end user a label value, whatever the request carried", async () => {
    const h = harness();
    const user = "user-7f3a9c@example.com";
    h.metrics.events.requestFinished(record({ endUser: user, feature: "search", costMicros: 30_000 }));
    h.metrics.events.taskSubmitted(submitted("acme", 30_000, "search"));
    h.metrics.events.requestFinished(
      record({ endUser: user, status: 402, errorType: "SPEND_CAP_EXCEEDED", capWindow: "user_daily" }),
    );
    const s = await h.scrape();
    for (const [name, samples] of s) {
      for (const sample of samples) {
        expect(Object.keys(sample.labels), name).not.toContain("user");
        expect(Object.values(sample.labels), name).not.toContain(user);
      }
    }
  });
});

describe("spend-cap refusals by window", () => {
  it("count each 402 under the cap that refused it; one that names none is the daily cap's", async () => {
    const h = harness();
    const refused = (capWindow?: "monthly" | "user_daily") =>
      record({
        status: 402,
        errorType: "SPEND_CAP_EXCEEDED",
        ...(capWindow === undefined ? {} : { capWindow }),
      });
    h.metrics.events.requestFinished(refused("monthly"));
    h.metrics.events.requestFinished(refused("monthly"));
    h.metrics.events.requestFinished(refused("user_daily"));
    h.metrics.events.requestFinished(refused());
    // Not a cap refusal, and a probe: neither counts.
    h.metrics.events.requestFinished(record({ status: 429, errorType: "RATE_LIMITED" }));
    h.metrics.events.requestFinished(record({ status: 402, errorType: "SPEND_CAP_EXCEEDED", probe: true }));
    const s = await h.scrape();
    const of = (window: string) => valueOf(s, "spend_cap_rejections_total", { tenant: "acme", window });
    expect([of("daily"), of("monthly"), of("model_daily"), of("user_daily")]).toEqual([1, 2, 0, 1]);
    // Every tenant and window exists from the first scrape.
    expect(valueOf(s, "spend_cap_rejections_total", { tenant: "beta", window: "monthly" })).toBe(0);
  });
});
