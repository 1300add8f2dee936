/**
 * The cost of a submit body, from a price table (docs/pricing.md). APIXO's statusTask carries no cost, so this
 * estimate is what spend caps charge and refund. Money is integer micro-USD here (CONTRACTS.md section 2).
 */
import { findModel } from "./models.js";
import { DEFAULT_PRICES, priceOverridesSchema } from "./priceSchema.js";
import type { ModePriceRule, PriceOverrides, PriceRule } from "./priceSchema.js";

export { DEFAULT_PRICES, VERIFY_PRICING, priceOverridesSchema, priceRuleSchema } from "./priceSchema.js";
export type { DefaultPrice, ModePriceRule, PriceOverrides, PriceRule } from "./priceSchema.js";

const MICROS_PER_USD = 1_000_000;

export function usdToMicros(usd: number): number {
  return Math.round(usd * MICROS_PER_USD);
}

export function microsToUsd(micros: number): number {
  return micros / MICROS_PER_USD;
}

/** "$0.13", "$1.50", "$0.08125": cents always, further digits only when they carry money. */
export function formatUsd(micros: number): string {
  const cents = (micros / MICROS_PER_USD).toFixed(2);
  if (micros % 10_000 === 0) return `$${cents}`;
  return `$${(micros / MICROS_PER_USD).toFixed(6).replace(/0+$/, "")}`;
}

interface Resolution {
  readonly label: string;
  readonly multiplier: number;
}

/** One way of pricing an output, after a mode has (or has not) been chosen. */
interface CompiledLeaf {
  readonly baseMicros: number;
  readonly perSecondMicros: number | undefined;
  /** Sorted by maxSec ascending. */
  readonly durationTiers: readonly { readonly maxSec: number; readonly micros: number }[];
  readonly defaultDurationSec: number | undefined;
  /** Keyed by lower-cased resolution. */
  readonly resolutions: ReadonlyMap<string, Resolution>;
  /** An unlisted resolution must not price below a listed one. */
  readonly dearestResolution: Resolution | undefined;
  readonly perOutput: boolean;
}

export interface CompiledPriceRule {
  readonly modeField: string;
  /** Lower-cased keys, longest first, so the most specific prefix wins. */
  readonly modes: readonly { readonly key: string; readonly label: string; readonly leaf: CompiledLeaf }[];
  readonly leaf: CompiledLeaf;
}

export interface PriceTable {
  /** Keyed by canonical model id (aliases are resolved at lookup). */
  readonly rules: ReadonlyMap<string, CompiledPriceRule>;
  /** Models still priced by a built-in default: worth a startup warning to verify against APIXO pricing. */
  readonly defaultsInUse: readonly string[];
}

export type CostEstimate = { kind: "priced"; costMicros: number; detail: string } | { kind: "unpriced" };

type CompilableRule = ModePriceRule & { baseUsd: number };

function compileLeaf(rule: CompilableRule): CompiledLeaf {
  const resolutions = new Map<string, Resolution>();
  let dearestResolution: Resolution | undefined;
  for (const [label, multiplier] of Object.entries(rule.byResolution ?? {})) {
    const resolution = { label, multiplier };
    resolutions.set(label.toLowerCase(), resolution);
    if (dearestResolution === undefined || multiplier > dearestResolution.multiplier) {
      dearestResolution = resolution;
    }
  }
  const durationTiers = Object.entries(rule.byDuration ?? {})
    .map(([maxSec, priceUsd]) => ({ maxSec: Number(maxSec), micros: usdToMicros(priceUsd) }))
    .sort((a, b) => a.maxSec - b.maxSec);
  return {
    baseMicros: usdToMicros(rule.baseUsd),
    perSecondMicros: rule.perSecondUsd === undefined ? undefined : usdToMicros(rule.perSecondUsd),
    durationTiers,
    defaultDurationSec: rule.defaultDurationSec,
    resolutions,
    dearestResolution,
    perOutput: rule.perOutput ?? false,
  };
}

function compileRule(rule: PriceRule): CompiledPriceRule {
  const { modeField, byMode, ...leafRule } = rule;
  const modes = Object.entries(byMode ?? {})
    .map(([label, entry]) => {
      const override: ModePriceRule = typeof entry === "number" ? { baseUsd: entry } : entry;
      return { key: label.toLowerCase(), label, leaf: compileLeaf(mergeMode(leafRule, override)) };
    })
    .sort((a, b) => b.key.length - a.key.length);
  return { modeField: modeField ?? "mode", modes, leaf: compileLeaf(leafRule) };
}

/** Field by field rather than a spread, so a mode's explicit `undefined` cannot erase the model's value. */
function mergeMode(model: CompilableRule, mode: ModePriceRule): CompilableRule {
  return {
    baseUsd: mode.baseUsd ?? model.baseUsd,
    perSecondUsd: mode.perSecondUsd ?? model.perSecondUsd,
    byDuration: mode.byDuration ?? model.byDuration,
    defaultDurationSec: mode.defaultDurationSec ?? model.defaultDurationSec,
    byResolution: mode.byResolution ?? model.byResolution,
    perOutput: mode.perOutput ?? model.perOutput,
  };
}

function canonicalId(name: string): string {
  return findModel(name)?.id ?? name;
}

/**
 * The defaults with the operator's overrides laid over them: an override replaces a model's rule wholesale,
 * an unknown id adds a model, an alias (flux-2) overrides its model. Throws a ZodError on an invalid section,
 * so a bad config reload is refused rather than pricing tasks at nonsense.
 */
export function buildPriceTable(overrides?: unknown): PriceTable {
  const parsed: PriceOverrides = overrides === undefined ? {} : priceOverridesSchema.parse(overrides);
  const rules = new Map<string, CompiledPriceRule>();
  for (const [id, entry] of Object.entries(DEFAULT_PRICES)) rules.set(id, compileRule(entry.rule));
  const overridden = new Set<string>();
  const entries = Object.entries(parsed);
  // Aliases first so that, when both spellings are given, the canonical id's rule is the one kept.
  const ordered = [
    ...entries.filter(([name]) => canonicalId(name) !== name),
    ...entries.filter(([name]) => canonicalId(name) === name),
  ];
  for (const [name, rule] of ordered) {
    const id = canonicalId(name);
    rules.set(id, compileRule(rule));
    overridden.add(id);
  }
  const defaultsInUse = Object.keys(DEFAULT_PRICES).filter((id) => !overridden.has(id));
  return { rules, defaultsInUse };
}

/** The id a model prices as, or undefined when the table does not price it (a bounded metrics label). */
export function pricedModelId(table: PriceTable, name: string): string | undefined {
  if (table.rules.has(name)) return name;
  const id = canonicalId(name);
  return table.rules.has(id) ? id : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A positive finite number, also when sent as a numeric string ("10"), as some clients do. */
function positiveNumber(value: unknown): number | undefined {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && value.trim() !== ""
        ? Number(value)
        : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

const OUTPUT_FIELDS = ["n", "num_images", "num_outputs", "variants"] as const;

function outputsAskedFor(input: Record<string, unknown>): number {
  for (const field of OUTPUT_FIELDS) {
    const value = input[field];
    const count = Array.isArray(value) ? value.length : positiveNumber(value);
    if (count !== undefined && count > 0) return Math.ceil(count);
  }
  return 1;
}

function pickMode(rule: CompiledPriceRule, value: unknown): CompiledPriceRule["modes"][number] | undefined {
  if (typeof value !== "string") return undefined;
  const wanted = value.trim().toLowerCase();
  return rule.modes.find((mode) => wanted === mode.key || wanted.startsWith(`${mode.key}-`));
}

/**
 * The estimated cost of one submit. Never throws: a missing or odd field falls back to the model's base price,
 * and an unlisted mode or resolution prices as the base (dearest) mode or the dearest resolution.
 */
export function estimateCost(table: PriceTable, modelId: string, body: unknown): CostEstimate {
  const id = pricedModelId(table, modelId);
  const rule = id === undefined ? undefined : table.rules.get(id);
  if (id === undefined || rule === undefined) return { kind: "unpriced" };

  const input = isRecord(body) && isRecord(body.input) ? body.input : {};
  const parts: string[] = [id];
  const mode = pickMode(rule, input[rule.modeField]);
  // "base" tells a client whose mode was missing or unlisted why it was charged the dearest mode.
  if (mode !== undefined) parts.push(mode.label);
  else if (rule.modes.length > 0) parts.push("base");
  const leaf = mode?.leaf ?? rule.leaf;

  let multiplier = 1;
  const askedResolution = input.resolution;
  if (typeof askedResolution === "string" && leaf.dearestResolution !== undefined) {
    const known = leaf.resolutions.get(askedResolution.trim().toLowerCase());
    const used = known ?? leaf.dearestResolution;
    multiplier = used.multiplier;
    parts.push(known === undefined ? `${askedResolution} (priced as ${used.label})` : used.label);
  }

  const durationSec = positiveNumber(input.duration) ?? leaf.defaultDurationSec;
  let unitMicros = leaf.baseMicros;
  const lastTier = leaf.durationTiers.at(-1);
  if (lastTier !== undefined) {
    const tier =
      durationSec === undefined
        ? lastTier
        : (leaf.durationTiers.find((t) => durationSec <= t.maxSec) ?? lastTier);
    unitMicros = tier.micros;
    parts.push(durationSec === undefined ? `up to ${tier.maxSec}s` : `${durationSec}s`);
  } else if (leaf.perSecondMicros !== undefined && durationSec !== undefined) {
    unitMicros = leaf.perSecondMicros * durationSec;
    parts.push(`${durationSec}s x ${formatUsd(leaf.perSecondMicros)}/s`);
  }

  const outputs = leaf.perOutput ? outputsAskedFor(input) : 1;
  if (leaf.perOutput) parts.push(`x${outputs}`);
  // Absurd counts or durations must still give a safe integer: the spend cap then refuses the request.
  const costMicros = Math.min(Math.round(unitMicros * multiplier * outputs), Number.MAX_SAFE_INTEGER);
  return { kind: "priced", costMicros, detail: `${parts.join(" ")} = ${formatUsd(costMicros)}` };
}
