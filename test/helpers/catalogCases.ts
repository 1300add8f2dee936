/**
 * One case per catalog model for its validation rules, and one per built-in price: shared by the gateway's unit
 * tests (test/unit/apixo.catalog.test.ts) and the simulator's (test/integration/simulator.catalog.test.ts), so
 * both hold the same catalog to the same words and the same money.
 */
export const url = (i: number): string => `https://cdn.example.com/${i}.png`;
export const urls = (n: number): string[] => Array.from({ length: n }, (_, i) => url(i));
const text = (n: number): string => "a".repeat(n);
export const P = "a red fox in the snow";

/** [model, an input the model accepts, the same request broken, the field, the message]. */
export type ValidationCase = [string, Record<string, unknown>, Record<string, unknown>, string, string];

const i2iNeeds = (give: string, mode = "image-to-image"): string =>
  `input.image_urls is required when input.mode is "${mode}"; give ${give}.`;
const tooLong = (model: string, max: number): string =>
  `input.prompt is ${max + 1} characters; ${model} accepts at most ${max}.`;
const tooMany = (field: string, n: number, model: string, max: number, when = ""): string =>
  `input.${field} has ${n} URLs; ${model} accepts at most ${max}${when}.`;
export const mode = (m: string): string => ` when input.mode is "${m}"`;

export const VALIDATION: ValidationCase[] = [
  [
    "nano-banana",
    { prompt: P, mode: "text-to-image" },
    { prompt: P, mode: "image-to-image" },
    "input.image_urls",
    i2iNeeds("1 to 5 http(s) URLs"),
  ],
  [
    "nano-banana-2",
    { prompt: P, aspect_ratio: "1:1", resolution: "1k" },
    { prompt: P, resolution: "1k" },
    "input.aspect_ratio",
    "input.aspect_ratio is required for nano-banana-2.",
  ],
  [
    "nano-banana-pro",
    { prompt: P },
    { prompt: P, mode: "image-to-image" },
    "input.image_urls",
    i2iNeeds("at least 1 http(s) URL"),
  ],
  [
    "gpt-image-1",
    { prompt: text(10_000) },
    { prompt: text(10_001) },
    "input.prompt",
    tooLong("gpt-image-1", 10_000),
  ],
  [
    "gpt-image-2",
    { prompt: P, mode: "image-to-image", image_urls: urls(16) },
    { prompt: P, mode: "image-to-image", image_urls: urls(17) },
    "input.image_urls",
    tooMany("image_urls", 17, "gpt-image-2", 16, mode("image-to-image")),
  ],
  [
    "flux2",
    { prompt: "fox", resolution: "1K" },
    { prompt: "ox", resolution: "1K" },
    "input.prompt",
    "input.prompt must be at least 3 characters for flux2.",
  ],
  [
    "flux-kontext",
    { prompt: P, mode: "max", image_urls: urls(1) },
    { prompt: P, mode: "max", image_urls: urls(2) },
    "input.image_urls",
    "input.image_urls has 2 URLs; flux-kontext accepts at most 1.",
  ],
  [
    "midjourney",
    { mode: "vary", taskId: "t1", imageIndex: 0 },
    { mode: "vary", imageIndex: 0 },
    "input.taskId",
    `input.taskId is required for midjourney${mode("vary")}.`,
  ],
  [
    "seedream-4-5",
    { prompt: P, max_images: 2 },
    { prompt: P },
    "input.max_images",
    "input.max_images is required for seedream-4-5.",
  ],
  [
    "seedream-5-0",
    { prompt: P, mode: "image-to-image", image_urls: urls(14) },
    { prompt: P, mode: "image-to-image", image_urls: urls(15) },
    "input.image_urls",
    tooMany("image_urls", 15, "seedream-5-0", 14, mode("image-to-image")),
  ],
  [
    "grok-image",
    { prompt: P, mode: "image-to-image", image_urls: urls(1) },
    { prompt: P, mode: "image-to-image" },
    "input.image_urls",
    i2iNeeds("exactly 1 http(s) URL"),
  ],
  [
    "wan-2-5-image",
    { prompt: text(3000), mode: "text-to-image" },
    { prompt: P, mode: "edit" },
    "input.mode",
    'input.mode must be one of text-to-image, image-to-image for wan-2-5-image; got "edit".',
  ],
  [
    "wan-2-7-image",
    { prompt: text(6000), image_urls: urls(9) },
    { prompt: P, image_urls: urls(10) },
    "input.image_urls",
    tooMany("image_urls", 10, "wan-2-7-image", 9),
  ],
  [
    "image-upscaler",
    { image_urls: urls(1), resolution: "4k" },
    { resolution: "4k" },
    "input.image_urls",
    "input.image_urls is required for image-upscaler; give exactly 1 http(s) URL.",
  ],
  [
    "sora-2",
    { prompt: P, mode: "image-to-video", image_urls: urls(1) },
    { prompt: P, mode: "image-to-video", image_urls: urls(2) },
    "input.image_urls",
    "input.image_urls has 2 URLs; sora-2 accepts at most 1" + mode("image-to-video") + ".",
  ],
  ["sora-2-pro", { prompt: text(5000) }, { prompt: text(5001) }, "input.prompt", tooLong("sora-2-pro", 5000)],
  [
    "veo-3-1",
    { prompt: P, generationType: "FIRST_AND_LAST_FRAMES_2_VIDEO", image_urls: urls(2) },
    { prompt: P, generationType: "FIRST_AND_LAST_FRAMES_2_VIDEO", image_urls: urls(3) },
    "input.image_urls",
    tooMany("image_urls", 3, "veo-3-1", 2, ' when input.generationType is "FIRST_AND_LAST_FRAMES_2_VIDEO"'),
  ],
  [
    "kling-2-1",
    { prompt: P, mode: "pro-image-to-video", image_urls: urls(2) },
    { prompt: P, mode: "standard-image-to-video", image_urls: urls(2) },
    "input.image_urls",
    "input.image_urls has 2 URLs; kling-2-1 accepts at most 1" + mode("standard-image-to-video") + ".",
  ],
  [
    "kling-2-5-turbo-pro",
    { prompt: text(2500) },
    { prompt: text(2501) },
    "input.prompt",
    tooLong("kling-2-5-turbo-pro", 2500),
  ],
  [
    "kling-2-6",
    { prompt: P, sound: false },
    { prompt: P },
    "input.sound",
    "input.sound is required for kling-2-6.",
  ],
  [
    "kling-3-0-std",
    { mode: "motion-control", image_urls: urls(1), video_urls: urls(1) },
    { mode: "motion-control", image_urls: urls(1) },
    "input.video_urls",
    `input.video_urls is required${mode("motion-control")}; give exactly 1 http(s) URL.`,
  ],
  [
    "kling-3-0-turbo",
    { prompt: P, mode: "image-to-video", image_urls: urls(1) },
    { prompt: P, mode: "image-to-video" },
    "input.image_urls",
    i2iNeeds("exactly 1 http(s) URL", "image-to-video"),
  ],
  ["wan-2-5", { prompt: text(800) }, { prompt: text(801) }, "input.prompt", tooLong("wan-2-5", 800)],
  [
    "wan-2-5-video",
    { mode: "image-to-video", image_urls: urls(1) },
    { mode: "text-to-video" },
    "input.prompt",
    "input.prompt is required for wan-2-5-video; give the text to generate from.",
  ],
  [
    "wan-2-7-video",
    { mode: "video-edit", video_urls: urls(1) },
    { mode: "reference-to-video" },
    "input.prompt",
    "input.prompt is required for wan-2-7-video; give the text to generate from.",
  ],
  [
    "seedance-1-5-pro",
    { prompt: P, sound: true },
    { prompt: P },
    "input.sound",
    "input.sound is required for seedance-1-5-pro.",
  ],
  [
    "seedance-2-0",
    { prompt: P, mode: "omni_reference", video_urls: urls(3) },
    { prompt: P, mode: "omni_reference", video_urls: urls(4) },
    "input.video_urls",
    tooMany("video_urls", 4, "seedance-2-0", 3, mode("omni_reference")),
  ],
  [
    "seedance-2-0-fast",
    { prompt: P, mode: "first_and_last_frames", image_urls: urls(2) },
    { prompt: P, mode: "first_and_last_frames" },
    "input.image_urls",
    i2iNeeds("1 to 2 http(s) URLs", "first_and_last_frames"),
  ],
  [
    "seedance-2-0-mini",
    { prompt: P, mode: "omni_reference", audio_urls: urls(3), image_urls: urls(1) },
    { prompt: P, mode: "omni_reference", audio_urls: urls(4) },
    "input.audio_urls",
    tooMany("audio_urls", 4, "seedance-2-0-mini", 3, mode("omni_reference")),
  ],
  [
    "hailuo-2-3",
    { prompt: P, mode: "pro-image-to-video", image_urls: urls(1) },
    { prompt: P, mode: "pro-image-to-video" },
    "input.image_urls",
    i2iNeeds("exactly 1 http(s) URL", "pro-image-to-video"),
  ],
  [
    "hailuo-2-3-fast",
    { image_urls: urls(1) },
    {},
    "input.image_urls",
    "input.image_urls is required for hailuo-2-3-fast; give exactly 1 http(s) URL.",
  ],
  [
    "vidu-q3",
    { prompt: P, mode: "turbo-image-to-video", image_urls: urls(2) },
    { prompt: P, mode: "turbo-image-to-video", image_urls: urls(3) },
    "input.image_urls",
    tooMany("image_urls", 3, "vidu-q3", 2, mode("turbo-image-to-video")),
  ],
  [
    "ltx-2-19b",
    { prompt: P, mode: "image-to-video-LoRA", image_urls: urls(1) },
    { prompt: P, mode: "image-to-video-LoRA" },
    "input.image_urls",
    i2iNeeds("exactly 1 http(s) URL", "image-to-video-LoRA"),
  ],
  [
    "grok-video",
    { prompt: P, image_urls: urls(1) },
    { prompt: P, image_urls: urls(2) },
    "input.image_urls",
    "input.image_urls has 2 URLs; grok-video accepts at most 1.",
  ],
  [
    "happyHorse",
    { prompt: P, mode: "video-edit", video_urls: urls(1) },
    { prompt: P, mode: "video-edit" },
    "input.video_urls",
    `input.video_urls is required${mode("video-edit")}; give exactly 1 http(s) URL.`,
  ],
  [
    "infinitetalk",
    { image_urls: urls(2), audio_urls: urls(1) },
    { image_urls: urls(1) },
    "input.audio_urls",
    "input.audio_urls is required for infinitetalk; give exactly 1 http(s) URL.",
  ],
  [
    "suno",
    { prompt: P, mode: "V5", customMode: false, instrumental: false },
    { prompt: P, mode: "V5", customMode: false },
    "input.instrumental",
    "input.instrumental is required for suno.",
  ],
  [
    "minimax-speech-2-8",
    { prompt: text(10_000) },
    { prompt: text(10_001) },
    "input.prompt",
    tooLong("minimax-speech-2-8", 10_000),
  ],
  [
    "minimax-voice",
    { mode: "design" },
    { mode: "clone" },
    "input.audio_urls",
    `input.audio_urls is required${mode("clone")}; give exactly 1 http(s) URL.`,
  ],
];

/** [model, request body, micro-USD, the detail the error envelope quotes]. */
export type PriceCase = [string, Record<string, unknown>, number, string];

export const PRICING: PriceCase[] = [
  ["nano-banana", { input: { num_images: 2 } }, 60_000, "nano-banana x2 = $0.06"],
  [
    "flux2",
    { input: { mode: "flex-image-to-image", resolution: "2K" } },
    100_000,
    "flux2 flex 2K x1 = $0.10",
  ],
  ["gpt-image-1", { input: { num_images: 2 } }, 700_000, "gpt-image-1 x2 = $0.70"],
  ["flux-kontext", { input: { mode: "pro" } }, 30_000, "flux-kontext pro = $0.03"],
  [
    "midjourney",
    { provider: "value", input: { speed: "relaxed" } },
    100_000,
    "midjourney value relaxed = $0.10",
  ],
  ["seedream-4-5", { input: { max_images: 3 } }, 120_000, "seedream-4-5 x3 = $0.12"],
  ["sora-2", { provider: "official", input: { duration: 12 } }, 150_000, "sora-2 12s = $0.15"],
  ["veo-3-1", { input: { mode: "fast" } }, 200_000, "veo-3-1 fast = $0.20"],
  ["suno", { input: { mode: "V4_5PLUS" } }, 120_000, "suno = $0.12"],
];
