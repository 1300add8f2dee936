import { describe, expect, it } from "vitest";
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

describe("default price table", () => {
  it("prices every model in models.ts and marks every default for verification", () => {
    for (const model of MODELS) {
      expect(estimateCost(defaults, model.id, { input: {} }).kind, model.id).toBe("priced");
      expect(DEFAULT_PRICES[model.id]?.verify, model.id).toBe("verify against your APIXO pricing");
    }
    expect(VERIFY_PRICING).toBe("verify against your APIXO pricing");
    expect(defaults.defaultsInUse).toEqual(Object.keys(DEFAULT_PRICES));
  });

  it("marks kling, wan and minimax-speech as guesses", () => {
    expect(DEFAULT_PRICES["kling-2-6"]?.basis).toBe("guess");
    expect(DEFAULT_PRICES["wan-2-5"]?.basis).toBe("guess");
    expect(DEFAULT_PRICES["minimax-speech-2-8"]?.basis).toBe("guess");
    expect(DEFAULT_PRICES["nano-banana"]?.basis).toBe("docs");
  });

  it("charges nano-banana and gpt-image-1 per image asked for", () => {
    expect(cost(defaults, "nano-banana", {})).toBe(30_000);
    expect(cost(defaults, "nano-banana", { num_images: 3 })).toBe(90_000);
    expect(cost(defaults, "gpt-image-1", { n: 2 })).toBe(700_000);
    expect(cost(defaults, "gpt-image-1", { variants: "4" })).toBe(1_400_000);
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

  it("prices midjourney per task by speed, draft as relaxed, a missing speed as turbo", () => {
    expect(cost(defaults, "midjourney", { speed: "relaxed" })).toBe(40_000);
    expect(cost(defaults, "midjourney", { speed: "draft" })).toBe(40_000);
    expect(cost(defaults, "midjourney", { speed: "fast" })).toBe(100_000);
    expect(cost(defaults, "midjourney", { speed: "turbo", n: 3 })).toBe(200_000);
    expect(priced(estimateCost(defaults, "midjourney", { input: {} })).detail).toBe(
      "midjourney base = $0.20",
    );
  });

  it("prices sora-2 by duration tier, a missing duration as the longest tier", () => {
    expect(cost(defaults, "sora-2", { duration: 4 })).toBe(500_000);
    expect(cost(defaults, "sora-2", { duration: "10" })).toBe(500_000);
    expect(cost(defaults, "sora-2", { duration: 12 })).toBe(750_000);
    expect(cost(defaults, "sora-2", { duration: 15 })).toBe(750_000);
    expect(cost(defaults, "sora-2", { duration: 60 })).toBe(750_000);
    expect(priced(estimateCost(defaults, "sora-2", { input: {} })).detail).toBe("sora-2 up to 15s = $0.75");
  });

  it("prices veo-3-1 by mode, a missing mode as quality", () => {
    expect(cost(defaults, "veo-3-1", { mode: "fast" })).toBe(200_000);
    expect(cost(defaults, "veo-3-1", { mode: "quality" })).toBe(1_500_000);
    expect(cost(defaults, "veo-3-1", {})).toBe(1_500_000);
  });

  it("prices kling and wan per second, wan also by resolution", () => {
    expect(cost(defaults, "kling-2-6", { duration: 5 })).toBe(350_000);
    expect(cost(defaults, "kling-2-6", {})).toBe(700_000);
    expect(
      priced(estimateCost(defaults, "wan-2-5", { input: { duration: 5, resolution: "1080p" } })),
    ).toEqual({
      costMicros: 375_000,
      detail: "wan-2-5 1080p 5s x $0.05/s = $0.375",
    });
    expect(cost(defaults, "wan-2-5", { duration: 10, resolution: "480p" })).toBe(250_000);
  });

  it("prices suno and minimax-speech per task whatever the count asked for", () => {
    expect(cost(defaults, "suno", { mode: "V5", n: 4 })).toBe(120_000);
    expect(cost(defaults, "minimax-speech-2-8", { prompt: "hello" })).toBe(100_000);
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
    expect(cost(defaults, "kling-2-6", { duration: "NaN" })).toBe(700_000);
  });

  it("keeps absurd requests a safe integer so the spend cap can refuse them", () => {
    const huge = cost(defaults, "wan-2-5", { duration: 1e308, n: 1e300 });
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
    const result = priceOverridesSchema.safeParse({
      "nano-banana": { baseUsd: 0.025, perOutput: true },
      flux2: { baseUsd: 0.07, byMode: { pro: 0.07, flex: { baseUsd: 0.05 } }, byResolution: { "2K": 1.8 } },
      "sora-2": { baseUsd: 0.75, byDuration: { 10: 0.5, 15: 0.75 } },
      "my-new-model": { baseUsd: 0.02, perSecondUsd: 0.01, defaultDurationSec: 5 },
    });
    expect(result.success).toBe(true);
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
