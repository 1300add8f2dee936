/**
 * The shape of a price rule, as the operator writes it under `prices:` in the gateway's YAML (docs/pricing.md).
 * Prices here are USD because people write USD; prices.ts turns them into integer micro-USD once, at build time.
 */
import { z } from "zod";

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
  /** Multiply by the number of outputs asked for (input.n, num_images, num_outputs, variants or max_images). */
  perOutput: z.boolean({ error: "must be true or false" }).optional(),
  /** With perOutput: the outputs a request that names none gets (wan-2-5-image makes 4 by default). */
  defaultOutputs: z
    .number({ error: "must be a whole number of outputs" })
    .int({ error: "must be a whole number of outputs" })
    .positive({ error: "must be a whole number of outputs greater than 0" })
    .optional(),
  /** The shortest duration billed, whatever the request says (infinitetalk bills at least 5 s). */
  minDurationSec: seconds.optional(),
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

const routeShape = {
  ...leafShape,
  /** The input field whose value picks a byMode entry; default "mode" (Midjourney: "speed"). */
  modeField: z.string().min(1, { error: "must name an input field, e.g. speed" }).optional(),
  /** Keys match the field's value exactly or as its prefix before "-" ("pro" matches "pro-text-to-image"). */
  byMode: z.record(z.string().min(1), modeEntry).optional(),
};

/** A model's price on one routing strategy (`provider`): a whole rule, replacing the model's own. */
const routeRuleSchema = z.strictObject(routeShape);
export type RoutePriceRule = z.infer<typeof routeRuleSchema>;

export const ROUTES = ["value", "official"] as const;
export type Route = (typeof ROUTES)[number];

export const priceRuleSchema = z.strictObject({
  ...routeShape,
  /** Prices that differ by the request's `provider`; a route not listed uses the model's own fields. */
  byProvider: z
    .strictObject({ value: routeRuleSchema.optional(), official: routeRuleSchema.optional() })
    .optional(),
  /** What `provider: auto` (or none) is charged as; by default the dearest route, since auto may land on it. */
  autoRoute: z.enum(ROUTES, { error: 'must be "value" or "official"' }).optional(),
});
export type PriceRule = z.infer<typeof priceRuleSchema>;

/** The config section `prices:`: model id (or alias) -> rule. A rule replaces a default wholesale. */
export const priceOverridesSchema = z.record(
  z.string().min(1, { error: "model ids must not be empty" }),
  priceRuleSchema,
);
export type PriceOverrides = z.infer<typeof priceOverridesSchema>;
