import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { MODELS } from "../../src/apixo/models.js";
import {
  DEFAULT_PRICES,
  VERIFY_PRICING,
  buildPriceTable,
  estimateCost,
  formatUsd,
  microsToUsd,
  priceOverridesSchema,
  pricedModelId,
  usdToMicros,
} from "../../src/apixo/prices.js";
import type { CostEstimate, PriceTable } from "../../src/apixo/prices.js";

const defaults = buildPriceTable();

function cost(table: PriceTable, model: string, input: Record<string, unknown>): number {
  const estimate = estimateCost(table, model, { input });
  if (estimate.kind !== "priced") throw new Error(`${model} is unpriced`);
  return estimate.costMicros;
}

function priced(estimate: CostEstimate): { costMicros: number; detail: string } {
  if (estimate.kind !== "priced") throw new Error("expected a priced estimate");
  return { costMicros: estimate.costMicros, detail: estimate.detail };
}

describe("money conversion keeps integer micro-USD", () => {
  it("rounds USD to the nearest micro-USD, away from float noise", () => {
    expect(usdToMicros(0.13)).toBe(130_000);
    expect(usdToMicros(0.1 + 0.2)).toBe(300_000);
    expect(usdToMicros(0.0000004)).toBe(0);
    expect(usdToMicros(0.0000006)).toBe(1);
    expect(microsToUsd(1_500_000)).toBe(1.5);
  });

  it("formats cents always and further digits only when they carry money", () => {
    expect(formatUsd(130_000)).toBe("$0.13");
    expect(formatUsd(1_500_000)).toBe("$1.50");
    expect(formatUsd(65_000)).toBe("$0.065");
    expect(formatUsd(0)).toBe("$0.00");
  });
});

/** A per-second, by-resolution video rule: the shape the built-in table has no figure for yet. */
const VIDEO_RULE = {
  clip: {
    baseUsd: 0.5,
    perSecondUsd: 0.05,
    defaultDurationSec: 10,
    byResolution: { "480p": 0.5, "720p": 1, "1080p": 1.5 },
  },
};

describe("default price table", () => {
  it("marks every default for verification and names its source", () => {
    for (const [id, entry] of Object.entries(DEFAULT_PRICES)) {
      expect(entry.verify, id).toBe("verify against your APIXO pricing");
      expect(entry.source, id).toMatch(/^[AB]: apixo\.ai\//);
      expect(
        MODELS.some((model) => model.id === id),
        id,
      ).toBe(true);
    }
    expect(VERIFY_PRICING).toBe("verify against your APIXO pricing");
    expect(defaults.defaultsInUse).toEqual(Object.keys(DEFAULT_PRICES));
  });

  it("prices flux2 by mode prefix and resolution, and explains it in the detail", () => {
    expect(
      priced(estimateCost(defaults, "flux2", { input: { mode: "pro-text-to-image", resolution: "2K" } })),
    ).toEqual({ costMicros: 130_000, detail: "flux2 pro 2K x1 = $0.13" });
    expect(cost(defaults, "flux2", { mode: "pro-image-to-image", resolution: "1K" })).toBe(65_000);
    expect(cost(defaults, "flux2", { mode: "flex-text-to-image", resolution: "1K" })).toBe(50_000);
    expect(cost(defaults, "flux2", { mode: "flex-image-to-image", resolution: "2k" })).toBe(100_000);
  });

  it("prices the alias flux-2 as flux2", () => {
    const body = { input: { mode: "flex-text-to-image", resolution: "2K", n: 2 } };
    expect(estimateCost(defaults, "flux-2", body)).toEqual(estimateCost(defaults, "flux2", body));
    expect(pricedModelId(defaults, "flux-2")).toBe("flux2");
  });

  it("never lets an unlisted mode or resolution price below a listed one", () => {
    expect(cost(defaults, "flux2", { mode: "ultra", resolution: "1K" })).toBe(65_000);
    const fourK = priced(
      estimateCost(defaults, "flux2", { input: { mode: "flex-text-to-image", resolution: "4K" } }),
    );
    expect(fourK).toEqual({ costMicros: 100_000, detail: "flux2 flex 4K (priced as 2K) x1 = $0.10" });
  });

  it("prices per second times a resolution multiplier, a missing duration at the default", () => {
    const table = buildPriceTable(VIDEO_RULE);
    expect(priced(estimateCost(table, "clip", { input: { duration: 5, resolution: "1080p" } }))).toEqual({
      costMicros: 375_000,
      detail: "clip 1080p 5s x $0.05/s = $0.375",
    });
    expect(cost(table, "clip", { duration: 10, resolution: "480p" })).toBe(250_000);
    expect(cost(table, "clip", {})).toBe(500_000);
  });

  it("bills at least minDurationSec and defaultOutputs when the request names no count", () => {
    const table = buildPriceTable({
      talk: { baseUsd: 0, perSecondUsd: 0.01, minDurationSec: 5, defaultDurationSec: 30 },
      batch: { baseUsd: 0.02, perOutput: true, defaultOutputs: 4 },
    });
    expect(cost(table, "talk", { duration: 2 })).toBe(50_000);
    expect(cost(table, "talk", { duration: 60 })).toBe(600_000);
    expect(cost(table, "batch", {})).toBe(80_000);
    expect(cost(table, "batch", { num_images: 1 })).toBe(20_000);
  });
});

describe("prices by routing strategy (provider)", () => {
  const routed = buildPriceTable({
    m: { baseUsd: 0.15, byProvider: { value: { baseUsd: 0.1 } } },
    cheapAuto: { baseUsd: 0.15, byProvider: { value: { baseUsd: 0.1 } }, autoRoute: "value" },
  });
  const routeCost = (model: string, provider?: unknown): number =>
    priced(estimateCost(routed, model, provider === undefined ? { input: {} } : { provider, input: {} }))
      .costMicros;

  it("charges the route asked for, the model's own fields on a route it does not list", () => {
    expect(routeCost("m", "value")).toBe(100_000);
    expect(routeCost("m", "official")).toBe(150_000);
    expect(priced(estimateCost(routed, "m", { provider: "value", input: {} })).detail).toBe(
      "m value = $0.10",
    );
  });

  it("charges auto, no provider and an unknown channel at the dearest route", () => {
    expect(routeCost("m")).toBe(150_000);
    expect(routeCost("m", "auto")).toBe(150_000);
    expect(routeCost("m", "some-channel")).toBe(150_000);
    expect(priced(estimateCost(routed, "m", { input: {} })).detail).toBe("m auto (as official) = $0.15");
  });

  it("charges auto at the configured route when autoRoute is set", () => {
    expect(routeCost("cheapAuto")).toBe(100_000);
    expect(routeCost("cheapAuto", "official")).toBe(150_000);
  });

  it("refuses an unknown route or autoRoute with its path", () => {
    const issues = (section: unknown): string[] =>
      priceOverridesSchema.safeParse(section).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ??
      [];
    expect(issues({ m: { baseUsd: 1, autoRoute: "cheap" } })).toEqual([
      'm.autoRoute: must be "value" or "official"',
    ]);
    expect(issues({ m: { baseUsd: 1, byProvider: { stable: { baseUsd: 1 } } } })[0]).toMatch(
      /^m\.byProvider/,
    );
  });
});

describe("estimateCost never throws", () => {
  it.each([null, "text", 42, [], { input: "x" }, { input: null }, {}])(
    "prices %j at the base price",
    (body) => {
      expect(priced(estimateCost(defaults, "nano-banana", body)).costMicros).toBe(30_000);
    },
  );

  it("ignores unreadable counts and durations", () => {
    expect(cost(defaults, "nano-banana", { n: -2, num_images: "many" })).toBe(30_000);
    expect(cost(buildPriceTable(VIDEO_RULE), "clip", { duration: "NaN" })).toBe(500_000);
  });

  it("keeps absurd requests a safe integer so the spend cap can refuse them", () => {
    const huge = cost(buildPriceTable({ w: { baseUsd: 1, perSecondUsd: 1, perOutput: true } }), "w", {
      duration: 1e308,
      n: 1e300,
    });
    expect(Number.isSafeInteger(huge)).toBe(true);
    expect(huge).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("reports models the table does not know as unpriced", () => {
    expect(estimateCost(defaults, "new-model-9", { input: {} })).toEqual({ kind: "unpriced" });
    expect(pricedModelId(defaults, "new-model-9")).toBeUndefined();
  });
});

describe("buildPriceTable overrides", () => {
  it("replaces a default rule wholesale", () => {
    const table = buildPriceTable({ flux2: { baseUsd: 0.04 } });
    expect(cost(table, "flux2", { mode: "pro-text-to-image", resolution: "2K", n: 2 })).toBe(40_000);
    expect(table.defaultsInUse).not.toContain("flux2");
    expect(table.defaultsInUse).toContain("nano-banana");
  });

  it("extends the table with new model ids", () => {
    const table = buildPriceTable({ "new-model-9": { baseUsd: 0.5, perOutput: true } });
    expect(cost(table, "new-model-9", { n: 2 })).toBe(1_000_000);
    expect(cost(table, "suno", {})).toBe(120_000);
  });

  it("applies an override written under an alias to its model, the canonical spelling winning", () => {
    expect(cost(buildPriceTable({ "flux-2": { baseUsd: 0.2 } }), "flux2", {})).toBe(200_000);
    const both = buildPriceTable({ flux2: { baseUsd: 0.3 }, "flux-2": { baseUsd: 0.2 } });
    expect(cost(both, "flux-2", {})).toBe(300_000);
  });

  it("lets a mode carry its own rule, inheriting the model's other fields", () => {
    const table = buildPriceTable({
      video: {
        baseUsd: 1,
        perSecondUsd: 0.1,
        defaultDurationSec: 5,
        byMode: { fast: { perSecondUsd: 0.02 }, flat: { perSecondUsd: 0, baseUsd: 0.3 } },
      },
    });
    expect(cost(table, "video", { mode: "fast", duration: 10 })).toBe(200_000);
    expect(cost(table, "video", { mode: "fast" })).toBe(100_000);
    expect(cost(table, "video", { duration: 10 })).toBe(1_000_000);
  });

  it("does not change the defaults for tables built later", () => {
    buildPriceTable({ suno: { baseUsd: 9 } });
    expect(cost(buildPriceTable(), "suno", {})).toBe(120_000);
  });
});

describe("priceOverridesSchema", () => {
  function issues(value: unknown): { path: string; message: string }[] {
    const result = priceOverridesSchema.safeParse(value);
    if (result.success) throw new Error("expected the overrides to be rejected");
    return result.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
  }

  it("accepts the YAML example of docs/pricing.md", () => {
    const doc = readFileSync(new URL("../../docs/pricing.md", import.meta.url), "utf8");
    const block = /```yaml\n(prices:[\s\S]*?)```/.exec(doc)?.[1];
    const section = (parse(block ?? "") as { prices: unknown }).prices;
    const result = priceOverridesSchema.safeParse(section);
    expect(result.error?.issues ?? []).toEqual([]);
    const table = buildPriceTable(section);
    expect(cost(table, "infinitetalk", { duration: 2 })).toBe(150_000);
    expect(priced(estimateCost(table, "midjourney", { input: { speed: "fast" } })).costMicros).toBe(100_000);
  });

  it("rejects negative prices with the path to the price", () => {
    expect(issues({ suno: { baseUsd: -0.12 } })).toEqual([
      { path: "suno.baseUsd", message: "must not be negative (US dollars)" },
    ]);
    expect(issues({ flux2: { baseUsd: 0.1, byMode: { pro: -1 } } })).toEqual([
      { path: "flux2.byMode.pro", message: "must not be negative (US dollars)" },
    ]);
    expect(issues({ flux2: { baseUsd: 0.1, byMode: { pro: { perSecondUsd: -1 } } } })).toEqual([
      { path: "flux2.byMode.pro.perSecondUsd", message: "must not be negative (US dollars)" },
    ]);
  });

  it("rejects wrong types, zero multipliers and bad duration keys with their paths", () => {
    expect(issues({ suno: { baseUsd: "0.12" } })).toEqual([
      { path: "suno.baseUsd", message: "must be a number of US dollars, e.g. 0.05" },
    ]);
    expect(issues({ flux2: { baseUsd: 0.1, byResolution: { "2K": 0 } } })).toEqual([
      { path: "flux2.byResolution.2K", message: "must be a multiplier greater than 0" },
    ]);
    expect(issues({ "sora-2": { baseUsd: 0.5, byDuration: { ten: 0.5 } } })[0]?.path).toBe(
      "sora-2.byDuration.ten",
    );
    expect(issues({ suno: { baseUsd: 0.1, perOutput: "yes" } })).toEqual([
      { path: "suno.perOutput", message: "must be true or false" },
    ]);
    expect(issues({ flux2: { baseUsd: 0.1, byMode: { pro: "cheap" } } })[0]?.path).toBe("flux2.byMode.pro");
  });

  it("rejects misspelt fields rather than silently ignoring a price", () => {
    expect(issues({ suno: { baseUSD: 0.12 } }).map((issue) => issue.path)).toEqual(["suno.baseUsd", "suno"]);
  });

  it("makes buildPriceTable refuse an invalid section", () => {
    expect(() => buildPriceTable({ suno: { baseUsd: -1 } })).toThrow(/must not be negative/);
  });
});
