import type { ModelSpec } from "../apixo/models.js";

export interface ValidSubmit {
  readonly input: Record<string, unknown>;
  readonly prompt: string;
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

function checkPrompt(spec: ModelSpec, prompt: unknown): string | undefined {
  if (prompt === undefined) return spec.promptRequired ? "Missing required field: input.prompt" : undefined;
  if (typeof prompt !== "string" || prompt.trim() === "") return "input.prompt must be a non-empty string";
  // The code-point count is only needed (and only paid for) when the UTF-16 length is over the limit.
  if (prompt.length > spec.promptMaxChars && charCount(prompt) > spec.promptMaxChars) {
    return `input.prompt must be at most ${spec.promptMaxChars} characters`;
  }
  return undefined;
}

function checkImageUrls(spec: ModelSpec, imageUrls: unknown): string | undefined {
  if (imageUrls === undefined) return undefined;
  if (!Array.isArray(imageUrls)) return "input.image_urls must be an array of http(s) URLs";
  if (imageUrls.length > spec.maxImageUrls) {
    return `input.image_urls allows at most ${spec.maxImageUrls} URLs for ${spec.id}`;
  }
  const bad = imageUrls.findIndex((url) => !isHttpUrl(url));
  return bad === -1 ? undefined : `input.image_urls[${bad}] must be an http(s) URL`;
}

function checkInput(spec: ModelSpec, input: Record<string, unknown>): string | undefined {
  const promptError = checkPrompt(spec, input.prompt);
  if (promptError !== undefined) return promptError;
  const { mode, image_urls: imageUrls, resolution, duration } = input;
  if (
    spec.modes.length > 0 &&
    mode !== undefined &&
    (typeof mode !== "string" || !spec.modes.includes(mode))
  ) {
    return `input.mode must be one of: ${spec.modes.join(", ")}`;
  }
  const urlError = checkImageUrls(spec, imageUrls);
  if (urlError !== undefined) return urlError;
  const needsImages = typeof mode === "string" && spec.imageModes.includes(mode);
  if (needsImages && (!Array.isArray(imageUrls) || imageUrls.length === 0)) {
    return `Missing required field: input.image_urls (mode ${mode} needs at least one image)`;
  }
  if (
    spec.resolutions.length > 0 &&
    resolution !== undefined &&
    (typeof resolution !== "string" || !spec.resolutions.includes(resolution))
  ) {
    return `input.resolution must be one of: ${spec.resolutions.join(", ")}`;
  }
  const durationSec = typeof duration === "string" && duration !== "" ? Number(duration) : duration;
  if (spec.durationsSec.length > 0 && duration !== undefined) {
    if (typeof durationSec !== "number" || !spec.durationsSec.includes(durationSec)) {
      return `input.duration must be one of: ${spec.durationsSec.join(", ")} (seconds)`;
    }
  }
  return undefined;
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
  return {
    ok: true,
    submit:
      isHttpUrl(callbackUrl) && requestType === "callback"
        ? { input, prompt, callbackUrl }
        : { input, prompt },
  };
}
