import { checkMediaCounts, checkMode, checkRequired, chooseRule } from "../apixo/catalogRules.js";
import { MEDIA_FIELDS, type ModelSpec } from "../apixo/models.js";

export interface ValidSubmit {
  readonly input: Record<string, unknown>;
  readonly prompt: string;
  /** The routing strategy as sent (`provider`), which the price may depend on. */
  readonly provider: unknown;
  /** Set only for `request_type: "callback"`. */
  readonly callbackUrl?: string;
}

export type SubmitCheck = { ok: true; submit: ValidSubmit } | { ok: false; error: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/** Characters as a person counts them: UTF-16 length would count an emoji twice. */
function charCount(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0xdc00 || unit > 0xdfff) count++;
  }
  return count;
}

function fail(error: string): SubmitCheck {
  return { ok: false, error };
}

function checkPrompt(spec: ModelSpec, prompt: unknown, required: boolean): string | undefined {
  if (prompt === undefined) return required ? "Missing required field: input.prompt" : undefined;
  if (typeof prompt !== "string" || prompt.trim() === "") return "input.prompt must be a non-empty string";
  const { promptMinChars: min, promptMaxChars: max } = spec;
  if (min > 1 && charCount(prompt) < min) return `input.prompt must be at least ${min} characters`;
  // The code-point count is only needed (and only paid for) when the UTF-16 length is over the limit.
  if (max !== undefined && prompt.length > max && charCount(prompt) > max) {
    return `input.prompt must be at most ${max} characters`;
  }
  return undefined;
}

function checkUrlSchemes(input: Record<string, unknown>): string | undefined {
  for (const field of MEDIA_FIELDS) {
    const urls = input[field];
    if (!Array.isArray(urls)) continue;
    const bad = urls.findIndex((url) => !isHttpUrl(url));
    if (bad !== -1) return `input.${field}[${bad}] must be an http(s) URL`;
  }
  return undefined;
}

function checkDuration(spec: ModelSpec, duration: unknown): string | undefined {
  const accepted = spec.durationsSec;
  if (accepted === undefined || duration === undefined) return undefined;
  const seconds = typeof duration === "string" && duration !== "" ? Number(duration) : duration;
  if ("min" in accepted) {
    const ok = typeof seconds === "number" && Number.isInteger(seconds);
    return ok && seconds >= accepted.min && seconds <= accepted.max
      ? undefined
      : `input.duration must be a whole number of seconds from ${accepted.min} to ${accepted.max}`;
  }
  return typeof seconds === "number" && accepted.includes(seconds)
    ? undefined
    : `input.duration must be one of: ${accepted.join(", ")} (seconds)`;
}

/** The catalog's rules (apixo/catalogRules.ts, the same ones the gateway applies), in APIXO's wording where it has one. */
function checkInput(spec: ModelSpec, input: Record<string, unknown>): string | undefined {
  const chosen = chooseRule(spec, input);
  const promptError = checkPrompt(spec, input.prompt, chosen.rule?.promptRequired ?? spec.promptRequired);
  if (promptError !== undefined) return promptError;
  const { resolution } = input;
  if (checkMode(spec, input) !== undefined) return `input.mode must be one of: ${spec.modes.join(", ")}`;
  const ruleError = checkMediaCounts(spec, input, chosen) ?? checkRequired(spec, input, chosen);
  if (ruleError !== undefined) return ruleError.message;
  const urlError = checkUrlSchemes(input);
  if (urlError !== undefined) return urlError;
  if (
    spec.resolutions.length > 0 &&
    resolution !== undefined &&
    (typeof resolution !== "string" || !spec.resolutions.includes(resolution))
  ) {
    return `input.resolution must be one of: ${spec.resolutions.join(", ")}`;
  }
  return checkDuration(spec, input.duration);
}

/** Stops requests APIXO would certainly refuse; unknown fields pass, as upstream accepts them. */
export function checkSubmit(spec: ModelSpec, body: unknown): SubmitCheck {
  if (!isObject(body)) return fail("Request body must be a JSON object");
  const { input, request_type: requestType = "async", callback_url: callbackUrl } = body;
  if (requestType !== "async" && requestType !== "callback") {
    return fail("request_type must be async or callback");
  }
  if (requestType === "callback" && callbackUrl === undefined) {
    return fail("Missing required field: callback_url (request_type is callback)");
  }
  if (requestType === "callback" && !isHttpUrl(callbackUrl))
    return fail("callback_url must be an http(s) URL");
  if (input === undefined) return fail("Missing required field: input");
  if (!isObject(input)) return fail("input must be a JSON object");
  const inputError = checkInput(spec, input);
  if (inputError !== undefined) return fail(inputError);
  const prompt = typeof input.prompt === "string" ? input.prompt : "";
  const { provider } = body;
  return {
    ok: true,
    submit:
      isHttpUrl(callbackUrl) && requestType === "callback"
        ? { input, prompt, provider, callbackUrl }
        : { input, prompt, provider },
  };
}
