/**
 * The shape of a price rule, as the operator writes it under `prices:` in the gateway's YAML (docs/pricing.md).
 * Prices here are USD because people write USD; prices.ts turns them into integer micro-USD once, at build time.
 */
import { z } from "zod";

/** Carried by every built-in price: the reference prices are copied from docs that may be stale. */
export const VERIFY_PRICING = "verify against your APIXO pricing";

const usd = z
  .number({ error: "must be a number of US dollars, e.g. 0.05" })
  .min(0, { error: "must not be negative (US dollars)" });

const multiplier = z
  .number({ error: "must be a number (a multiplier, e.g. 1.5)" })
  .positive({ error: "must be a multiplier greater than 0" });

const seconds = z
  .number({ error: "must be a number of seconds" })
  .positive({ error: "must be a number of seconds greater than 0" });

const durationKey = z
  .string()
  .regex(/^\d+(\.\d+)?$/, { error: "byDuration keys must be durations in seconds, e.g. 10" });

/** The fields a mode may replace: everything that decides the price of one output. */
const leafShape = {
  /** Price of one task (of one output when perOutput) when nothing more specific applies. */
  baseUsd: usd,
  /** When set, one output costs perSecondUsd x input.duration (or defaultDurationSec). */
  perSecondUsd: usd.optional(),
  /** Duration tiers: key = longest duration (s) the tier covers, value = USD; the smallest tier that fits wins. */
  byDuration: z.record(durationKey, usd).optional(),
  /** Used when input.duration is missing or unreadable. */
  defaultDurationSec: seconds.optional(),
  /** Multiplier by input.resolution (case-insensitive); an absent resolution multiplies by 1. */
  byResolution: z.record(z.string().min(1), multiplier).optional(),
  /** Multiply by the number of outputs asked for (input.n, num_images, num_outputs or variants). */
  perOutput: z.boolean({ error: "must be true or false" }).optional(),
};

const modeRuleSchema = z.strictObject(leafShape).partial();
export type ModePriceRule = z.infer<typeof modeRuleSchema>;

/**
 * A byMode entry is a price (short for `{ baseUsd: price }`) or a rule whose fields replace the model's.
 * Dispatching by hand rather than with z.union keeps the issue paths and messages of the branch that applies;
 * a union reports only "Invalid input".
 */
const modeEntry = z.unknown().transform((value, ctx): ModePriceRule | number => {
  if (typeof value === "number") {
    const parsed = usd.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message });
    return z.NEVER;
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const parsed = modeRuleSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
    }
    return z.NEVER;
  }
  ctx.addIssue({
    code: "custom",
    message: "must be a price in USD (e.g. 0.05) or a rule (e.g. { baseUsd: 0.05 })",
  });
  return z.NEVER;
});

export const priceRuleSchema = z.strictObject({
  ...leafShape,
  /** The input field whose value picks a byMode entry; default "mode" (Midjourney: "speed"). */
  modeField: z.string().min(1, { error: "must name an input field, e.g. speed" }).optional(),
  /** Keys match the field's value exactly or as its prefix before "-" ("pro" matches "pro-text-to-image"). */
  byMode: z.record(z.string().min(1), modeEntry).optional(),
});
export type PriceRule = z.infer<typeof priceRuleSchema>;

/** The config section `prices:`: model id (or alias) -> rule. A rule replaces a default wholesale. */
export const priceOverridesSchema = z.record(
  z.string().min(1, { error: "model ids must not be empty" }),
  priceRuleSchema,
);
export type PriceOverrides = z.infer<typeof priceOverridesSchema>;

export interface DefaultPrice {
  readonly rule: PriceRule;
  /** Where the number comes from: a docs price point, or a guess where the docs give none. */
  readonly basis: "docs" | "guess";
  readonly verify: typeof VERIFY_PRICING;
}

const fromDocs = (rule: PriceRule): DefaultPrice => ({ rule, basis: "docs", verify: VERIFY_PRICING });
const guessed = (rule: PriceRule): DefaultPrice => ({ rule, basis: "guess", verify: VERIFY_PRICING });

/**
 * Built-in prices for every model in models.ts, from the reference price points (shared/reference/apixo-api.md).
 * Every entry: verify against your APIXO pricing. Where a request leaves a mode out, baseUsd is the dearest
 * known mode, so omitting a field can never lower a charge below what the task may really cost.
 */
export const DEFAULT_PRICES: Readonly<Record<string, DefaultPrice>> = {
  // verify against your APIXO pricing: $0.03 per image.
  "nano-banana": fromDocs({ baseUsd: 0.03, perOutput: true }),
  // verify against your APIXO pricing: docs give $0.05-0.13 by mode and resolution; split here as
  // flex 1K 0.05, pro 1K 0.065, 2K = twice 1K (flex 0.10, pro 0.13).
  flux2: fromDocs({
    baseUsd: 0.065,
    byMode: { pro: 0.065, flex: 0.05 },
    byResolution: { "1K": 1, "2K": 2 },
    perOutput: true,
  }),
  // verify against your APIXO pricing: $0.35 per image.
  "gpt-image-1": fromDocs({ baseUsd: 0.35, perOutput: true }),
  // verify against your APIXO pricing: per task of 4 images, by speed; draft is billed like relaxed.
  midjourney: fromDocs({
    baseUsd: 0.2,
    modeField: "speed",
    byMode: { relaxed: 0.04, draft: 0.04, fast: 0.1, turbo: 0.2 },
  }),
  // verify against your APIXO pricing: duration tiers, not per second, because the docs quote per video:
  // up to 10 s $0.50, up to 15 s $0.75; a missing duration prices as the longest tier.
  "sora-2": fromDocs({ baseUsd: 0.75, byDuration: { "10": 0.5, "15": 0.75 } }),
  // verify against your APIXO pricing: per video, fast $0.20, quality $1.50.
  "veo-3-1": fromDocs({ baseUsd: 1.5, byMode: { fast: 0.2, quality: 1.5 } }),
  // verify against your APIXO pricing: GUESS, near Kling's $0.0672/s elsewhere.
  "kling-2-6": guessed({ baseUsd: 0.7, perSecondUsd: 0.07, defaultDurationSec: 10 }),
  // verify against your APIXO pricing: GUESS, $0.05/s at 720p, scaled by resolution.
  "wan-2-5": guessed({
    baseUsd: 0.5,
    perSecondUsd: 0.05,
    defaultDurationSec: 10,
    byResolution: { "480p": 0.5, "720p": 1, "1080p": 1.5 },
  }),
  // verify against your APIXO pricing: $0.12 per task (2 tracks).
  suno: fromDocs({ baseUsd: 0.12 }),
  // verify against your APIXO pricing: GUESS, a flat price per task, whatever the text length.
  "minimax-speech-2-8": guessed({ baseUsd: 0.1 }),
};
