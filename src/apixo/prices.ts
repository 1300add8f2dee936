/**
 * The cost of a submit body, from a price table (docs/pricing.md). APIXO's statusTask carries no cost, so this
 * estimate is what spend caps charge and refund. Money is integer micro-USD here (CONTRACTS.md section 2).
 */
import { DEFAULT_PRICES } from "./defaultPrices.js";
import { isRecord } from "./json.js";
import { findModel, MODELS } from "./models.js";
import { priceOverridesSchema, ROUTES } from "./priceSchema.js";
import type { ModePriceRule, PriceOverrides, PriceRule, Route, RoutePriceRule } from "./priceSchema.js";

export { DEFAULT_PRICES, VERIFY_PRICING } from "./defaultPrices.js";
export type { DefaultPrice } from "./defaultPrices.js";
export { priceOverridesSchema, priceRuleSchema } from "./priceSchema.js";
export type { ModePriceRule, PriceOverrides, PriceRule, Route } from "./priceSchema.js";

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
  readonly defaultOutputs: number;
  readonly minDurationSec: number | undefined;
}

/** One route's rule, compiled. */
export interface CompiledPriceRule {
  readonly modeField: string;
  /** Lower-cased keys, longest first, so the most specific prefix wins. */
  readonly modes: readonly { readonly key: string; readonly label: string; readonly leaf: CompiledLeaf }[];
  readonly leaf: CompiledLeaf;
}

/** A model's price: its own rule, and the routes (`provider`) priced otherwise. */
export interface CompiledModelPrice {
  readonly base: CompiledPriceRule;
  readonly routes: ReadonlyMap<Route, CompiledPriceRule>;
  /** What auto is charged as; undefined: the dearest route. */
  readonly autoRoute: Route | undefined;
}

export interface PriceTable {
  /** Keyed by canonical model id (aliases are resolved at lookup). */
  readonly rules: ReadonlyMap<string, CompiledModelPrice>;
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
    defaultOutputs: rule.defaultOutputs ?? 1,
    minDurationSec: rule.minDurationSec,
  };
}

function compileRoute(rule: RoutePriceRule): CompiledPriceRule {
  const { modeField, byMode, ...leafRule } = rule;
  const modes = Object.entries(byMode ?? {})
    .map(([label, entry]) => {
      const override: ModePriceRule = typeof entry === "number" ? { baseUsd: entry } : entry;
      return { key: label.toLowerCase(), label, leaf: compileLeaf(mergeMode(leafRule, override)) };
    })
    .sort((a, b) => b.key.length - a.key.length);
  return { modeField: modeField ?? "mode", modes, leaf: compileLeaf(leafRule) };
}

function compileRule(rule: PriceRule): CompiledModelPrice {
  const { byProvider, autoRoute, ...own } = rule;
  const routes = new Map<Route, CompiledPriceRule>();
  for (const route of ROUTES) {
    const routeRule = byProvider?.[route];
    if (routeRule !== undefined) routes.set(route, compileRoute(routeRule));
  }
  return { base: compileRoute(own), routes, autoRoute };
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
    defaultOutputs: mode.defaultOutputs ?? model.defaultOutputs,
    minDurationSec: mode.minDurationSec ?? model.minDurationSec,
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
  const rules = new Map<string, CompiledModelPrice>();
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

/**
 * The `model` metric label of a name: its catalog id, or its id in the price table for a model an operator
 * priced, or undefined (it becomes `other`). Bounded by the catalog and the config, never by what clients send.
 */
export function modelLabelId(table: PriceTable, name: string): string | undefined {
  return findModel(name)?.id ?? pricedModelId(table, name);
}

/** The id a model prices as, or undefined when the table does not price it. */
export function pricedModelId(table: PriceTable, name: string): string | undefined {
  if (table.rules.has(name)) return name;
  const id = canonicalId(name);
  return table.rules.has(id) ? id : undefined;
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

const OUTPUT_FIELDS = ["n", "num_images", "num_outputs", "variants", "max_images"] as const;

function outputsAskedFor(input: Record<string, unknown>, leaf: CompiledLeaf): number {
  for (const field of OUTPUT_FIELDS) {
    const value = input[field];
    const count = Array.isArray(value) ? value.length : positiveNumber(value);
    if (count !== undefined && count > 0) return Math.ceil(count);
  }
  return leaf.defaultOutputs;
}

function pickMode(rule: CompiledPriceRule, value: unknown): CompiledPriceRule["modes"][number] | undefined {
  if (typeof value !== "string") return undefined;
  const wanted = value.trim().toLowerCase();
  return rule.modes.find((mode) => wanted === mode.key || wanted.startsWith(`${mode.key}-`));
}

interface Priced {
  readonly costMicros: number;
  readonly parts: readonly string[];
}

/** One route's price of `input`: mode, then one output's price, resolution, outputs. */
function priceWith(rule: CompiledPriceRule, input: Record<string, unknown>): Priced {
  const parts: string[] = [];
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

  const askedSec = positiveNumber(input.duration) ?? leaf.defaultDurationSec;
  const durationSec =
    askedSec === undefined || leaf.minDurationSec === undefined
      ? askedSec
      : Math.max(askedSec, leaf.minDurationSec);
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

  const outputs = leaf.perOutput ? outputsAskedFor(input, leaf) : 1;
  if (leaf.perOutput) parts.push(`x${outputs}`);
  // Absurd counts or durations must still give a safe integer: the spend cap then refuses the request.
  const costMicros = Math.min(Math.round(unitMicros * multiplier * outputs), Number.MAX_SAFE_INTEGER);
  return { costMicros, parts };
}

/** The request's routing strategy; anything else (a named channel, a typo) is charged like auto. */
function routeAsked(body: unknown): Route | "auto" {
  const provider = isRecord(body) ? body.provider : undefined;
  return provider === "value" || provider === "official" ? provider : "auto";
}

/** The price on the route the request asked for; auto at the configured route, else at the dearest one. */
function priceRouted(price: CompiledModelPrice, body: unknown, input: Record<string, unknown>): Priced {
  if (price.routes.size === 0) return priceWith(price.base, input);
  const asked = routeAsked(body);
  const on = (route: Route): Priced => {
    const priced = priceWith(price.routes.get(route) ?? price.base, input);
    return {
      costMicros: priced.costMicros,
      parts: [asked === "auto" ? `auto (as ${route})` : route, ...priced.parts],
    };
  };
  if (asked !== "auto") return on(asked);
  if (price.autoRoute !== undefined) return on(price.autoRoute);
  const value = on("value");
  const official = on("official");
  return official.costMicros > value.costMicros ? official : value;
}

/**
 * The estimated cost of one submit. Never throws: a missing or odd field falls back to the model's base price,
 * an unlisted mode or resolution prices as the base (dearest) mode or the dearest resolution, and a request
 * that names no route is charged on the dearest route unless the rule's autoRoute says otherwise.
 */
export function estimateCost(table: PriceTable, modelId: string, body: unknown): CostEstimate {
  const id = pricedModelId(table, modelId);
  const price = id === undefined ? undefined : table.rules.get(id);
  if (id === undefined || price === undefined) return { kind: "unpriced" };
  const input = isRecord(body) && isRecord(body.input) ? body.input : {};
  const { costMicros, parts } = priceRouted(price, body, input);
  return { kind: "priced", costMicros, detail: `${[id, ...parts].join(" ")} = ${formatUsd(costMicros)}` };
}

/** Catalog models the table gives no price (in catalog order): the tenant's unpricedModels policy applies to them. */
export function unpricedCatalogModels(table: PriceTable): string[] {
  return MODELS.filter((model) => !table.rules.has(model.id)).map((model) => model.id);
}
