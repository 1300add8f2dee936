/**
 * Built-in prices: one rule for every catalog model whose docs give a figure (apixo-catalog.md), and none for
 * the rest, which stay unpriced (the tenant's `unpricedModels` policy applies). Only old doc generations (A, B)
 * carry figures; where two disagree the newer one is used, the older noted in docs/pricing.md. Every entry:
 * verify against your APIXO pricing.
 */
import type { PriceRule } from "./priceSchema.js";

/** Carried by every built-in price: the reference prices are copied from docs that may be stale. */
export const VERIFY_PRICING = "verify against your APIXO pricing";

export interface DefaultPrice {
  readonly rule: PriceRule;
  /** The doc page (and its generation) the figure comes from. */
  readonly source: string;
  readonly verify: typeof VERIFY_PRICING;
}

const price = (source: string, rule: PriceRule): DefaultPrice => ({ rule, source, verify: VERIFY_PRICING });

/** Where a request leaves a mode out, baseUsd is the dearest known mode, so omitting a field never lowers a charge. */
export const DEFAULT_PRICES: Readonly<Record<string, DefaultPrice>> = {
  "nano-banana": price("B: apixo.ai/docs/models/image/nano-banana", { baseUsd: 0.03, perOutput: true }),
  // The docs give only "$0.05-0.13 per image"; the split by mode and resolution is ours.
  flux2: price("A: apixo.ai/en/docs/models/flux-2", {
    baseUsd: 0.065,
    byMode: { pro: 0.065, flex: 0.05 },
    byResolution: { "1K": 1, "2K": 2 },
    perOutput: true,
  }),
  "gpt-image-1": price("B: apixo.ai/docs/models/image/gpt-image-1", { baseUsd: 0.35, perOutput: true }),
  "flux-kontext": price("B: apixo.ai/docs/models/image/flux-kontext", {
    baseUsd: 0.06,
    byMode: { pro: 0.03, max: 0.06 },
  }),
  // Per task of 4 images, by speed. Gen B's two columns are the routes (Cheap = value, Stable = official);
  // newest docs bill relaxed as fast; draft has no figure, so it prices as the base (turbo).
  midjourney: price("B: apixo.ai/docs/models/image/midjourney", {
    baseUsd: 0.25,
    modeField: "speed",
    byMode: { relaxed: 0.15, fast: 0.15, turbo: 0.25 },
    byProvider: {
      value: { baseUsd: 0.2, modeField: "speed", byMode: { relaxed: 0.1, fast: 0.1, turbo: 0.2 } },
    },
  }),
  // Per output image: max_images (1-10) is what a request may produce.
  "seedream-4-5": price("A: apixo.ai/en/docs/models/seedream-4-5", { baseUsd: 0.04, perOutput: true }),
  // Gen B's "$0.10-0.15 per video" for 10 s / 15 s (gen A: $0.50 / $0.75). Newer 4 and 8 s fall in the 10 s
  // tier, 12 s in the 15 s tier; a missing duration prices as the longest.
  "sora-2": price("B: apixo.ai/docs/models/video/sora-2", {
    baseUsd: 0.15,
    byDuration: { "10": 0.1, "15": 0.15 },
  }),
  "veo-3-1": price("B: apixo.ai/docs/models/video/veo-3-1", {
    baseUsd: 1.5,
    byMode: { fast: 0.2, quality: 1.5 },
  }),
  // Per task of 2 tracks, every mode (gen A: $0.18).
  suno: price("B: apixo.ai/docs/models/audio/suno", { baseUsd: 0.12 }),
};
