/**
 * What the gateway and the simulator know of APIXO's models, as data (see shared/reference/apixo-api.md).
 * Docs generations disagree on parameters, so this table holds only what is needed to stop requests that are
 * certainly wrong (size, count, scheme) and to price and pace tasks; `input` is otherwise passed through untouched.
 */
export type ModelKind = "image" | "video" | "audio";

export interface ModelSpec {
  readonly id: string;
  /** Other spellings seen in the docs that name the same model (`flux-2` for `flux2`). */
  readonly aliases: readonly string[];
  readonly kind: ModelKind;
  /** Known `input.mode` values; empty when the model takes none or the docs do not agree. */
  readonly modes: readonly string[];
  /** Modes that need `input.image_urls`. */
  readonly imageModes: readonly string[];
  readonly promptRequired: boolean;
  readonly promptMaxChars: number;
  readonly maxImageUrls: number;
  readonly resolutions: readonly string[];
  /** Allowed `input.duration` values in seconds (video); empty when the model takes no duration. */
  readonly durationsSec: readonly number[];
  /** Outputs one task produces (Midjourney returns 4 images, Suno 2 tracks). */
  readonly outputsPerTask: number;
  /** A typical processing time, used by the simulator's default timing and by early-poll pacing. */
  readonly typicalMs: number;
}

const image = {
  kind: "image",
  aliases: [],
  modes: [],
  imageModes: [],
  promptRequired: true,
  promptMaxChars: 5000,
  maxImageUrls: 8,
  resolutions: [],
  durationsSec: [],
  outputsPerTask: 1,
  typicalMs: 20_000,
} as const satisfies Omit<ModelSpec, "id">;

const video = {
  ...image,
  kind: "video",
  maxImageUrls: 2,
  resolutions: ["480p", "720p", "1080p"],
  typicalMs: 120_000,
} as const satisfies Omit<ModelSpec, "id">;

export const MODELS: readonly ModelSpec[] = [
  {
    ...image,
    id: "nano-banana",
    modes: ["text-to-image", "image-to-image"],
    imageModes: ["image-to-image"],
    maxImageUrls: 5,
    typicalMs: 15_000,
  },
  {
    ...image,
    id: "flux2",
    aliases: ["flux-2"],
    modes: ["pro-text-to-image", "pro-image-to-image", "flex-text-to-image", "flex-image-to-image"],
    imageModes: ["pro-image-to-image", "flex-image-to-image"],
    resolutions: ["1K", "2K"],
    typicalMs: 30_000,
  },
  { ...image, id: "gpt-image-1", maxImageUrls: 16, promptMaxChars: 20_000, typicalMs: 40_000 },
  {
    ...image,
    id: "midjourney",
    modes: ["text-to-image", "image-to-image"],
    imageModes: ["image-to-image"],
    maxImageUrls: 5,
    outputsPerTask: 4,
    typicalMs: 60_000,
  },
  { ...video, id: "sora-2", durationsSec: [4, 8, 10, 12, 15], typicalMs: 180_000 },
  { ...video, id: "veo-3-1", modes: ["quality", "fast"], durationsSec: [4, 6, 8], typicalMs: 120_000 },
  { ...video, id: "kling-2-6", durationsSec: [5, 10] },
  { ...video, id: "wan-2-5", durationsSec: [5, 10] },
  {
    ...image,
    id: "suno",
    kind: "audio",
    modes: ["V4", "V4_5", "V4_5PLUS", "V5", "V5_5"],
    maxImageUrls: 0,
    outputsPerTask: 2,
    typicalMs: 60_000,
  },
  { ...image, id: "minimax-speech-2-8", kind: "audio", maxImageUrls: 0, typicalMs: 10_000 },
];

const byName = new Map<string, ModelSpec>();
for (const model of MODELS) {
  byName.set(model.id, model);
  for (const alias of model.aliases) byName.set(alias, model);
}

/** The model a path segment names, by id or alias; undefined for models this table does not know. */
export function findModel(name: string): ModelSpec | undefined {
  return byName.get(name);
}

export const TASK_STATES = ["pending", "processing", "success", "failed"] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(["success", "failed"]);

/**
 * failCodes are an open set upstream; metric labels must be bounded, so anything not listed becomes `other`.
 */
export const KNOWN_FAIL_CODES: ReadonlySet<string> = new Set([
  "CONTENT_VIOLATION",
  "NSFW_DETECTED",
  "PROMPT_TOO_LONG",
  "INVALID_PROMPT",
  "INVALID_IMAGE_URL",
  "IMAGE_TOO_LARGE",
  "UNSUPPORTED_FORMAT",
  "IMAGE_DOWNLOAD_FAILED",
  "PROCESSING_TIMEOUT",
  "MODEL_UNAVAILABLE",
  "GENERATION_FAILED",
  "INSUFFICIENT_CREDITS",
  "SensitiveContentDetected",
  "PromptLengthExceeded",
  "NSFW",
]);

export function boundedFailCode(code: string | undefined): string {
  if (code === undefined || code === "") return "none";
  return KNOWN_FAIL_CODES.has(code) ? code : "other";
}
