import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { firstOfNextMonth, localDay, startOfDayMs } from "../../src/limits/days.js";
import { MonthProgress } from "../../src/telemetry/monthProgress.js";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";
import { metric, parseSamples, poll, scrape, submit, valueOf, type Sample } from "../helpers/telemetry.js";

/**
 * Monthly caps, per-user caps and attribution as Prometheus sees them, through a real gateway and simulator:
 * the monthly gauges, refusals by the cap that refused, and spend by feature (never by user).
 */

let h: Harness;
const USER = "end-user-4f1d9c";

beforeAll(async () => {
  h = await startHarness({
    tenants: [
      // nano-banana costs $0.03: two fit in the month, the third is refused by the monthly cap.
      { id: "acme", timeZone: "Asia/Tokyo", dailyCapUsd: 5, monthlyCapUsd: 0.07 },
      // One nano-banana per end user and day; the tenant itself has room.
      { id: "beta", timeZone: "America/Los_Angeles", dailyCapUsd: 5, userDailyCapUsd: 0.03 },
      { id: "gamma" },
    ],
    config: { telemetry: { balancePollSeconds: 0, featureLabels: ["search"] } },
  });
});
afterAll(async () => {
  await h.close();
});

const key = (tenant: string): string => h.keys[tenant] ?? "";

async function samples(): Promise<Sample[]> {
  return parseSamples(await scrape(h.gateway));
}

/** Submits and polls the task until it ends (the simulator runs it at once). */
async function finished(tenant: string, prompt: string, headers: Record<string, string>): Promise<void> {
  const submitted = await submit(h.gateway, key(tenant), "nano-banana", prompt, headers);
  const taskId = submitted.body.data?.taskId;
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
  for (let i = 0; i < 50; i++) {
    const answer = await poll(h.gateway, key(tenant), "nano-banana", taskId ?? "");
    const state = (answer.body.data as { state?: string } | undefined)?.state;
    if (state === "success" || state === "failed") return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`task ${taskId ?? "?"} did not finish`);
}

const sumOf = (s: readonly Sample[], name: string, tenant: string): number =>
  s.filter((x) => x.name === name && x.labels.tenant === tenant).reduce((total, x) => total + x.value, 0);

describe("monthly budget metrics", () => {
  it("report the month's spend and cap from the store, and the elapsed share of each tenant's own month", async () => {
    expect((await submit(h.gateway, key("acme"), "nano-banana")).status).toBe(200);
    expect((await submit(h.gateway, key("acme"), "nano-banana")).status).toBe(200);
    const months = new MonthProgress({ localDay, startOfDayMs, firstOfNextMonth });
    const before = Date.now();
    const s = await samples();
    const after = Date.now();
    expect(valueOf(s, metric("spend_month_usd"), { tenant: "acme" })).toBeCloseTo(0.06, 9);
    expect(valueOf(s, metric("spend_month_cap_usd"), { tenant: "acme" })).toBe(0.07);
    expect(valueOf(s, metric("spend_month_usd"), { tenant: "gamma" })).toBe(0);
    expect(valueOf(s, metric("spend_month_cap_usd"), { tenant: "beta" })).toBeUndefined();
    for (const [tenant, zone] of [
      ["acme", "Asia/Tokyo"],
      ["beta", "America/Los_Angeles"],
    ] as const) {
      const ratio = valueOf(s, metric("spend_month_elapsed_ratio"), { tenant });
      expect(ratio, tenant).toBeGreaterThanOrEqual(months.elapsedRatio(zone, before));
      expect(ratio, tenant).toBeLessThanOrEqual(months.elapsedRatio(zone, after));
    }
  });

  it("count each 402 under the cap that refused it, adding up to rejections_total's spend_cap", async () => {
    // acme's month is full ($0.06 of $0.07): refused by the monthly cap, not the daily one.
    expect((await submit(h.gateway, key("acme"), "nano-banana")).status).toBe(402);
    // beta's user has had their one task today: refused by the per-user cap.
    const asUser = { "x-gateway-user": USER };
    expect((await submit(h.gateway, key("beta"), "nano-banana", "a", asUser)).status).toBe(200);
    expect((await submit(h.gateway, key("beta"), "nano-banana", "b", asUser)).status).toBe(402);
    const s = await samples();
    const refusals = (tenant: string, window: string) =>
      valueOf(s, metric("spend_cap_rejections_total"), { tenant, window });
    expect([refusals("acme", "daily"), refusals("acme", "monthly"), refusals("acme", "user_daily")]).toEqual([
      0, 1, 0,
    ]);
    expect([refusals("beta", "daily"), refusals("beta", "monthly"), refusals("beta", "user_daily")]).toEqual([
      0, 0, 1,
    ]);
    for (const tenant of ["acme", "beta", "gamma"]) {
      expect(sumOf(s, metric("spend_cap_rejections_total"), tenant), tenant).toBe(
        valueOf(s, metric("rejections_total"), { tenant, reason: "spend_cap" }),
      );
    }
  });
});

describe("spend by feature", () => {
  it("counts charges and refunds under the listed feature, other or none, adding up to the tenant's spend", async () => {
    const asUser = { "x-gateway-user": USER };
    await finished("gamma", "a lighthouse", { ...asUser, "x-gateway-feature": "search" });
    // Unlisted, and the task fails: charged and refunded under `other`.
    await finished("gamma", "sim:violation please", { ...asUser, "x-gateway-feature": "checkout-7c2e" });
    await finished("gamma", "a harbour", asUser);
    const text = await scrape(h.gateway);
    const s = parseSamples(text);
    const spend = (feature: string) =>
      valueOf(s, metric("feature_spend_usd_total"), { tenant: "gamma", feature });
    const refund = (feature: string) =>
      valueOf(s, metric("feature_refunds_usd_total"), { tenant: "gamma", feature });
    expect([spend("search"), spend("other"), spend("none")]).toEqual([0.03, 0.03, 0.03]);
    expect([refund("search"), refund("other"), refund("none")]).toEqual([0, 0.03, 0]);
    expect(sumOf(s, metric("feature_spend_usd_total"), "gamma")).toBeCloseTo(
      sumOf(s, metric("spend_usd_total"), "gamma"),
      9,
    );
    expect(sumOf(s, metric("feature_refunds_usd_total"), "gamma")).toBeCloseTo(
      sumOf(s, metric("refunds_usd_total"), "gamma"),
      9,
    );
    // Neither the end user nor an unlisted feature is ever a label value.
    expect(text).not.toContain(USER);
    expect(text).not.toContain("checkout-7c2e");
  });
});
