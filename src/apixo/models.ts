/**
 * What the gateway and the simulator know of APIXO's generation models: the catalog (catalog/*.ts, from
 * shared/reference/apixo-catalog.md), looked up by id or alias. `input` is otherwise passed through untouched.
 */
import { AUDIO_MODELS } from "./catalog/audio.js";
import { IMAGE_MODELS } from "./catalog/images.js";
import type { ModelSpec } from "./catalog/spec.js";
import { VIDEO_MODELS } from "./catalog/videos.js";

export { MEDIA_FIELDS } from "./catalog/spec.js";
export type {
  Count,
  MediaCounts,
  MediaField,
  ModeRule,
  ModelKind,
  ModelSpec,
  Range,
} from "./catalog/spec.js";

/** Every generation model APIXO documents (39), images first. */
export const MODELS: readonly ModelSpec[] = [...IMAGE_MODELS, ...VIDEO_MODELS, ...AUDIO_MODELS];

const byName = new Map<string, ModelSpec>();
const byFoldedName = new Map<string, string>();
for (const model of MODELS) {
  for (const name of [model.id, ...model.aliases]) {
    byName.set(name, model);
    byFoldedName.set(name.toLowerCase(), name);
  }
}

/** The model a path segment names, by id or alias, exactly as written; undefined for models not in the catalog. */
export function findModel(name: string): ModelSpec | undefined {
  return byName.get(name);
}

/** The documented spelling of a name written in another case (`HappyHorse`, `Flux-2`): for refusing it. */
export function documentedSpelling(name: string): string | undefined {
  return byFoldedName.get(name.toLowerCase());
}

export const TASK_STATES = ["pending", "processing", "success", "failed"] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(["success", "failed"]);

/**
 * Every failCode the docs show, with a failMsg in APIXO's style (the simulator answers with it). Both
 * vocabularies: UPPER_SNAKE from the model pages and older errors page, CamelCase provider codes from the
 * newest errors page. failCodes are an open set upstream; metric labels must be bounded, so anything not
 * listed becomes `other`.
 */
export const FAIL_CODES: Readonly<Record<string, string>> = {
  CONTENT_VIOLATION: "Content does not meet safety guidelines.",
  NSFW_DETECTED: "NSFW content detected.",
  PROMPT_TOO_LONG: "The prompt exceeds the maximum length.",
  INVALID_PROMPT: "The prompt is invalid.",
  INVALID_IMAGE_URL: "An image URL is invalid or not reachable.",
  IMAGE_TOO_LARGE: "An input image is larger than 10 MB.",
  UNSUPPORTED_FORMAT: "An input image is not JPEG, PNG or WebP.",
  IMAGE_DOWNLOAD_FAILED: "An input image could not be downloaded.",
  PROCESSING_TIMEOUT: "Generation did not finish in time; please retry the request.",
  MODEL_UNAVAILABLE: "The model is temporarily unavailable.",
  GENERATION_FAILED: "Generation failed.",
  INSUFFICIENT_CREDITS: "Insufficient credits.",
  INVALID_LORA_URL: "A LoRA URL is invalid or not reachable.",
  SensitiveContent: "Sensitive content.",
  SensitiveContentDetected: "Sensitive content detected.",
  InputImageSensitiveContentDetected: "Sensitive content detected in an input image.",
  InputOutputSensitiveContentDetected: "Sensitive content detected in the input or output.",
  NSFW: "NSFW content.",
  ProhibitedContentDetected: "Prohibited content detected.",
  PromptLengthExceeded: "The prompt exceeds the maximum length.",
};

export const KNOWN_FAIL_CODES: ReadonlySet<string> = new Set(Object.keys(FAIL_CODES));

export function boundedFailCode(code: string | undefined): string {
  if (code === undefined || code === "") return "none";
  return KNOWN_FAIL_CODES.has(code) ? code : "other";
}
