/**
 * Checks on a submit body that stop requests which are certainly wrong (shape, size, count, URL scheme) or
 * unsafe to forward (media URLs into private networks) before they cost a reservation and an upstream call. Docs generations disagree on parameters, so unknown fields and
 * values pass through untouched (shared/reference/apixo-api.md).
 */
import { checkMediaUrls, PUBLIC_MEDIA_ONLY, type MediaUrlPolicy } from "./mediaUrls.js";
import type { ModelSpec } from "./models.js";

export type RequestType = "async" | "callback";

export type SubmitCheck =
  | { ok: true; requestType: RequestType; callbackUrl?: string; prompt?: string }
  | { ok: false; field: string; message: string };

/** The common limit in APIXO's docs; newer models allow more and are listed in models.ts. */
export const UNKNOWN_MODEL_PROMPT_MAX_CHARS = 5000;
/** The largest count any documented model takes; a model we do not know gets no less. */
export const UNKNOWN_MODEL_MAX_IMAGE_URLS = 16;

type Failure = Extract<SubmitCheck, { ok: false }>;

function fail(field: string, message: string): Failure {
  return { ok: false, field, message };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== "string" || !/^https?:\/\/[^\s/?#]/i.test(value)) return false;
  return URL.canParse(value);
}

function checkPrompt(model: ModelSpec | undefined, input: Record<string, unknown>): Failure | undefined {
  const prompt = input.prompt;
  const name = model?.id ?? "this model";
  if (prompt === undefined) {
    return model?.promptRequired === true
      ? fail("input.prompt", `input.prompt is required for ${name}; give the text to generate from.`)
      : undefined;
  }
  if (typeof prompt !== "string") {
    return fail("input.prompt", `input.prompt must be a string; got ${typeName(prompt)}.`);
  }
  if (prompt.trim() === "") return fail("input.prompt", "input.prompt must not be empty or only whitespace.");
  const maxChars = model?.promptMaxChars ?? UNKNOWN_MODEL_PROMPT_MAX_CHARS;
  // Code points, so an emoji counts once; the UTF-16 length bounds them from above, so the count runs only for
  // prompts near the limit.
  if (prompt.length > maxChars) {
    const chars = Array.from(prompt).length;
    if (chars > maxChars) {
      return fail(
        "input.prompt",
        `input.prompt is ${chars} characters; ${name} accepts at most ${maxChars}.`,
      );
    }
  }
  return undefined;
}

function checkImageUrls(model: ModelSpec | undefined, input: Record<string, unknown>): Failure | undefined {
  const urls = input.image_urls;
  const name = model?.id ?? "this model";
  const maxUrls = model?.maxImageUrls ?? UNKNOWN_MODEL_MAX_IMAGE_URLS;
  const mode = input.mode;
  if (urls === undefined) {
    if (model !== undefined && typeof mode === "string" && model.imageModes.includes(mode)) {
      return fail(
        "input.image_urls",
        `input.image_urls is required when input.mode is "${mode}"; give 1 to ${maxUrls} http(s) URLs.`,
      );
    }
    return undefined;
  }
  if (!Array.isArray(urls)) {
    return fail(
      "input.image_urls",
      `input.image_urls must be an array of http(s) URLs; got ${typeName(urls)}.`,
    );
  }
  if (urls.length > maxUrls) {
    const limit = maxUrls === 0 ? "takes no input.image_urls" : `accepts at most ${maxUrls}`;
    const count = urls.length === 1 ? "1 URL" : `${urls.length} URLs`;
    return fail("input.image_urls", `input.image_urls has ${count}; ${name} ${limit}.`);
  }
  // Each URL's scheme and host: checkMediaUrls, with every other media field.
  return undefined;
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

  const failure = checkPrompt(model, input) ?? checkImageUrls(model, input);
  if (failure !== undefined) return failure;
  const unsafe = checkMediaUrls(input, media);
  if (unsafe !== undefined) return fail(unsafe.field, unsafe.message);

  const result: SubmitCheck = { ok: true, requestType };
  if (requestType === "callback" && typeof callbackUrl === "string") result.callbackUrl = callbackUrl;
  if (typeof input.prompt === "string") result.prompt = input.prompt;
  return result;
}
