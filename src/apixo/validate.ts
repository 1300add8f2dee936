/**
 * Checks on a submit body that stop requests which are certainly wrong (shape, size, count, URL scheme, the
 * catalog's rules) or unsafe to forward (media URLs into private networks) before they cost a reservation and an
 * upstream call. Docs generations disagree on parameters, so unknown fields and values pass through untouched
 * (shared/reference/apixo-catalog.md; the newest generation's rules are in catalog/*.ts).
 */
import {
  checkMediaCounts,
  checkMode,
  checkRequired,
  chooseRule,
  type ChosenRule,
  type RuleFailure,
} from "./catalogRules.js";
import { isRecord, typeName } from "./json.js";
import { checkMediaUrls, PUBLIC_MEDIA_ONLY, type MediaUrlPolicy } from "./mediaUrls.js";
import type { ModelSpec } from "./models.js";

export type RequestType = "async" | "callback";

export type SubmitCheck =
  | { ok: true; requestType: RequestType; callbackUrl?: string; prompt?: string }
  | { ok: false; field: string; message: string };

/** The common limit in APIXO's generic parameter page; catalog models carry their own. */
export const UNKNOWN_MODEL_PROMPT_MAX_CHARS = 5000;
/** The largest count any documented model takes; a model we do not know gets no less. */
export const UNKNOWN_MODEL_MAX_IMAGE_URLS = 20;

type Failure = Extract<SubmitCheck, { ok: false }>;

function fail(field: string, message: string): Failure {
  return { ok: false, field, message };
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== "string" || !/^https?:\/\/[^\s/?#]/i.test(value)) return false;
  return URL.canParse(value);
}

/** Code points, so an emoji counts once; the UTF-16 length bounds them from above, so counting is rarely needed. */
function charCount(text: string, atLeast: number): number {
  return text.length < atLeast ? text.length : Array.from(text).length;
}

function checkPrompt(
  model: ModelSpec | undefined,
  input: Record<string, unknown>,
  chosen: ChosenRule,
): Failure | undefined {
  const prompt = input.prompt;
  const name = model?.id ?? "this model";
  if (prompt === undefined) {
    const required = chosen.rule?.promptRequired ?? model?.promptRequired ?? false;
    return required
      ? fail(
          "input.prompt",
          `input.prompt is required for ${name}${chosen.when}; give the text to generate from.`,
        )
      : undefined;
  }
  if (typeof prompt !== "string") {
    return fail("input.prompt", `input.prompt must be a string; got ${typeName(prompt)}.`);
  }
  if (prompt.trim() === "") return fail("input.prompt", "input.prompt must not be empty or only whitespace.");
  const minChars = model?.promptMinChars ?? 1;
  // A code point is at most two UTF-16 units, so only a short prompt needs counting.
  if (minChars > 1 && prompt.length < 2 * minChars && Array.from(prompt).length < minChars) {
    return fail("input.prompt", `input.prompt must be at least ${minChars} characters for ${name}.`);
  }
  const maxChars = model === undefined ? UNKNOWN_MODEL_PROMPT_MAX_CHARS : model.promptMaxChars;
  if (maxChars === undefined) return undefined;
  const chars = charCount(prompt, maxChars + 1);
  if (chars > maxChars) {
    return fail("input.prompt", `input.prompt is ${chars} characters; ${name} accepts at most ${maxChars}.`);
  }
  return undefined;
}

/** A model outside the catalog: image_urls must still be a list of a plausible size. */
function checkUnknownModelUrls(input: Record<string, unknown>): Failure | undefined {
  const urls = input.image_urls;
  if (urls === undefined) return undefined;
  if (!Array.isArray(urls)) {
    return fail(
      "input.image_urls",
      `input.image_urls must be an array of http(s) URLs; got ${typeName(urls)}.`,
    );
  }
  if (urls.length <= UNKNOWN_MODEL_MAX_IMAGE_URLS) return undefined;
  return fail(
    "input.image_urls",
    `input.image_urls has ${urls.length} URLs; no model takes more than ${UNKNOWN_MODEL_MAX_IMAGE_URLS}.`,
  );
}

function checkInput(
  model: ModelSpec | undefined,
  input: Record<string, unknown>,
  media: MediaUrlPolicy,
): RuleFailure | undefined {
  const chosen: ChosenRule = model === undefined ? { rule: undefined, when: "" } : chooseRule(model, input);
  const early =
    checkPrompt(model, input, chosen) ??
    (model === undefined
      ? checkUnknownModelUrls(input)
      : (checkMode(model, input) ?? checkMediaCounts(model, input, chosen)));
  if (early !== undefined) return early;
  // Unsafe URLs before missing fields: a request that must never be forwarded says so first.
  return (
    checkMediaUrls(input, media) ?? (model === undefined ? undefined : checkRequired(model, input, chosen))
  );
}

/**
 * Validates a parsed submit body for `model` (undefined when models.ts does not know it: generic limits apply).
 * The first failure wins; its message names the field and the limit so a person can fix the request. `media`
 * says which private networks media URLs may point at (the operator's governance.mediaUrls; none by default).
 */
export function validateSubmit(
  model: ModelSpec | undefined,
  body: unknown,
  media: MediaUrlPolicy = PUBLIC_MEDIA_ONLY,
): SubmitCheck {
  if (!isRecord(body)) return fail("body", 'body must be a JSON object with an "input" object.');
  const input = body.input;
  if (input === undefined) return fail("input", 'body must be a JSON object with an "input" object.');
  if (!isRecord(input)) return fail("input", `input must be a JSON object; got ${typeName(input)}.`);

  const rawType = body.request_type;
  if (rawType !== undefined && rawType !== "async" && rawType !== "callback") {
    const got = typeof rawType === "string" ? `"${rawType}"` : typeName(rawType);
    return fail("request_type", `request_type must be "async" or "callback"; got ${got}.`);
  }
  const requestType: RequestType = rawType ?? "async";

  const callbackUrl = body.callback_url;
  if (requestType === "callback") {
    if (callbackUrl === undefined || callbackUrl === "") {
      return fail("callback_url", 'callback_url is required when request_type is "callback".');
    }
    if (!isHttpUrl(callbackUrl)) return fail("callback_url", "callback_url must be an http(s) URL.");
  }

  const failure = checkInput(model, input, media);
  if (failure !== undefined) return fail(failure.field, failure.message);

  const result: SubmitCheck = { ok: true, requestType };
  if (requestType === "callback" && typeof callbackUrl === "string") result.callbackUrl = callbackUrl;
  if (typeof input.prompt === "string") result.prompt = input.prompt;
  return result;
}
