/**
 * The catalog's rules for one submit's `input` (apixo-catalog.md, newest doc generation): the mode string,
 * how many URLs each media field holds in that mode, and the fields the docs mark required. Everything else
 * passes through: where generations disagree the table holds no rule (catalog/*.ts says which).
 */
import { typeName } from "./json.js";
import { MEDIA_FIELDS, type Count, type MediaField, type ModeRule, type ModelSpec } from "./models.js";

export interface RuleFailure {
  readonly field: string;
  readonly message: string;
}

/** The `rules` entry the request's rule field picks, and how a message names that choice. */
export interface ChosenRule {
  readonly rule: ModeRule | undefined;
  /** ` when input.mode is "image-to-image"`, or "" when no entry applies. */
  readonly when: string;
}

export function chooseRule(model: ModelSpec, input: Record<string, unknown>): ChosenRule {
  const value = input[model.ruleField];
  const rule =
    typeof value === "string" && Object.hasOwn(model.rules, value) ? model.rules[value] : undefined;
  return rule === undefined
    ? { rule: undefined, when: "" }
    : { rule, when: ` when input.${model.ruleField} is "${String(value)}"` };
}

/** A mode the model does not list, newest or older generation. */
export function checkMode(model: ModelSpec, input: Record<string, unknown>): RuleFailure | undefined {
  const mode = input.mode;
  if (model.modes.length === 0 || mode === undefined) return undefined;
  if (typeof mode === "string" && (model.modes.includes(mode) || model.legacyModes.includes(mode)))
    return undefined;
  const got = typeof mode === "string" ? `"${mode.slice(0, 60)}"` : typeName(mode);
  return {
    field: "input.mode",
    message: `input.mode must be one of ${model.modes.join(", ")} for ${model.id}; got ${got}.`,
  };
}

function urls(n: number): string {
  return n === 1 ? "1 URL" : `${n} URLs`;
}

function wanted(count: Count): string {
  const url = (n: number): string => (n === 1 ? "1 http(s) URL" : `${n} http(s) URLs`);
  if (count.max === undefined) return `at least ${url(count.min)}`;
  if (count.min === count.max) return `exactly ${url(count.min)}`;
  return `${count.min} to ${url(count.max)}`;
}

function checkCount(
  model: ModelSpec,
  field: MediaField,
  count: Count,
  value: unknown,
  when: string,
): RuleFailure | undefined {
  const path = `input.${field}`;
  if (value !== undefined && value !== null && !Array.isArray(value)) {
    return { field: path, message: `${path} must be an array of http(s) URLs; got ${typeName(value)}.` };
  }
  const n = Array.isArray(value) ? value.length : 0;
  if (count.max !== undefined && n > count.max) {
    const limit = count.max === 0 ? `takes no ${path}` : `accepts at most ${count.max}`;
    return { field: path, message: `${path} has ${urls(n)}; ${model.id} ${limit}${when}.` };
  }
  if (n >= count.min) return undefined;
  if (n === 0) {
    const subject = when === "" ? ` for ${model.id}` : when;
    return { field: path, message: `${path} is required${subject}; give ${wanted(count)}.` };
  }
  return { field: path, message: `${path} has ${urls(n)}; ${model.id} needs ${wanted(count)}${when}.` };
}

/** Each media field's count, the mode's own where it has one. */
export function checkMediaCounts(
  model: ModelSpec,
  input: Record<string, unknown>,
  chosen: ChosenRule,
): RuleFailure | undefined {
  for (const field of MEDIA_FIELDS) {
    const count = chosen.rule?.media?.[field] ?? model.media[field];
    if (count === undefined) continue;
    const failure = checkCount(model, field, count, input[field], chosen.when);
    if (failure !== undefined) return failure;
  }
  return undefined;
}

/** Fields the docs mark required, for the model and for the chosen mode; null counts as absent. */
export function checkRequired(
  model: ModelSpec,
  input: Record<string, unknown>,
  chosen: ChosenRule,
): RuleFailure | undefined {
  for (const field of [...model.required, ...(chosen.rule?.required ?? [])]) {
    if (input[field] !== undefined && input[field] !== null) continue;
    return { field: `input.${field}`, message: `input.${field} is required for ${model.id}${chosen.when}.` };
  }
  return undefined;
}
