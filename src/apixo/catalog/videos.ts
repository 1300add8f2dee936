/**
 * Video models (apixo-catalog.md section 1b). Limits are the newest doc generation's; where generations
 * disagree the older value is noted and never enforced.
 */
import { between, exactly, model, sameRule, upTo, type ModelSpec } from "./spec.js";

const T2V_I2V = ["text-to-video", "image-to-video"] as const;
const SEEDANCE_2_MODES = ["text-to-video", "first_and_last_frames", "omni_reference"] as const;

/** An image-to-video mode's frames: 1 to `max` (a 2nd image is an end frame). */
function i2v(max: number): Pick<ModelSpec, "media" | "rules"> {
  return {
    media: { image_urls: upTo(max) },
    rules: { "image-to-video": { media: { image_urls: between(1, max) } } },
  };
}

/** seedance-2-0 and its fast/mini variants share one page layout. */
function seedance2(id: string, resolutions: readonly string[]): ModelSpec {
  return model(id, "video", SEEDANCE_2_MODES, {
    media: { image_urls: upTo(9) },
    rules: {
      first_and_last_frames: { media: { image_urls: between(1, 2) } },
      omni_reference: { media: { image_urls: upTo(9), video_urls: upTo(3), audio_urls: upTo(3) } },
    },
    durationsSec: { min: 4, max: 15 },
    resolutions,
  });
}

export const VIDEO_MODELS: readonly ModelSpec[] = [
  // Durations 4/8/12 in D2, 10/15 in gens A-C: all accepted. Only the `official` route, per D1.
  model("sora-2", "video", T2V_I2V, {
    promptMaxChars: 10_000,
    ...i2v(1),
    durationsSec: [4, 8, 10, 12, 15],
    typicalMs: 180_000,
  }),
  model("sora-2-pro", "video", T2V_I2V, {
    promptMaxChars: 5000,
    ...i2v(1),
    durationsSec: [4, 8, 10, 12, 15],
    resolutions: ["720p", "1080p"],
    typicalMs: 240_000,
  }),
  // `mode` is the quality tier; the frames depend on generationType. REFERENCE_2_VIDEO also needs fast mode
  // and 16:9, a combination left to APIXO.
  model("veo-3-1", "video", ["quality", "fast"], {
    promptMaxChars: 10_000,
    ruleField: "generationType",
    media: { image_urls: upTo(3) },
    rules: {
      FIRST_AND_LAST_FRAMES_2_VIDEO: { media: { image_urls: upTo(2) } },
      REFERENCE_2_VIDEO: { media: { image_urls: upTo(3) } },
    },
  }),
  model(
    "kling-2-1",
    "video",
    ["standard-image-to-video", "pro-image-to-video", "master-text-to-video", "master-image-to-video"],
    {
      promptMaxChars: 5000,
      media: { image_urls: upTo(2) },
      rules: {
        ...sameRule(["standard-image-to-video", "master-image-to-video"], {
          media: { image_urls: exactly(1) },
        }),
        "pro-image-to-video": { media: { image_urls: between(1, 2) } },
      },
      durationsSec: [5, 10],
    },
  ),
  model("kling-2-5-turbo-pro", "video", T2V_I2V, { promptMaxChars: 2500, ...i2v(2), durationsSec: [5, 10] }),
  model("kling-2-6", "video", T2V_I2V, {
    promptMaxChars: 1000,
    ...i2v(2),
    required: ["sound"],
    durationsSec: [5, 10],
  }),
  // motion-control copies the motion of one reference video (its length sets the duration).
  model("kling-3-0-std", "video", [...T2V_I2V, "motion-control"], {
    media: { image_urls: upTo(2) },
    rules: {
      "image-to-video": { media: { image_urls: between(1, 2) } },
      "motion-control": { promptRequired: false, media: { image_urls: exactly(1), video_urls: exactly(1) } },
    },
    durationsSec: { min: 3, max: 15 },
  }),
  model("kling-3-0-turbo", "video", T2V_I2V, {
    ...i2v(1),
    durationsSec: { min: 3, max: 15 },
    resolutions: ["720p", "1080p"],
  }),
  model("wan-2-5", "video", T2V_I2V, {
    promptMaxChars: 800,
    ...i2v(1),
    durationsSec: [5, 10],
    resolutions: ["720p", "1080p"],
  }),
  // A separate id from wan-2-5. The prompt is optional for image-to-video.
  model("wan-2-5-video", "video", T2V_I2V, {
    promptMaxChars: 1500,
    media: { image_urls: upTo(1), audio_urls: upTo(1) },
    rules: { "image-to-video": { promptRequired: false, media: { image_urls: exactly(1) } } },
    durationsSec: [5, 10],
    resolutions: ["480p", "720p", "1080p"],
  }),
  // Page path .../video/wan-2-7. video-edit's prompt: optional (HTML copy) vs required (.md copy): optional.
  // Durations differ by mode (video-edit takes 0), so the simulator checks none.
  model("wan-2-7-video", "video", ["text-to-video", "image-to-video", "reference-to-video", "video-edit"], {
    media: { image_urls: upTo(2) },
    rules: {
      "image-to-video": { promptRequired: false, media: { image_urls: between(1, 2) } },
      "video-edit": { promptRequired: false },
    },
    resolutions: ["720p", "1080p"],
  }),
  model("seedance-1-5-pro", "video", T2V_I2V, {
    promptMinChars: 3,
    promptMaxChars: 2500,
    ...i2v(2),
    required: ["sound"],
    durationsSec: { min: 4, max: 12 },
    resolutions: ["480p", "720p"],
  }),
  seedance2("seedance-2-0", ["480p", "720p", "1080p"]),
  seedance2("seedance-2-0-fast", ["480p", "720p"]),
  seedance2("seedance-2-0-mini", ["480p", "720p"]),
  // Pro modes ignore the duration (fixed 5 s), so the simulator checks none.
  model(
    "hailuo-2-3",
    "video",
    ["standard-text-to-video", "standard-image-to-video", "pro-text-to-video", "pro-image-to-video"],
    {
      media: { image_urls: upTo(1) },
      rules: sameRule(["standard-image-to-video", "pro-image-to-video"], {
        media: { image_urls: exactly(1) },
      }),
      resolutions: ["768p", "1080p"],
    },
  ),
  // No prompt rule documented; both modes animate one image.
  model("hailuo-2-3-fast", "video", ["standard-image-to-video", "pro-image-to-video"], {
    promptRequired: false,
    media: { image_urls: exactly(1) },
    resolutions: ["768p", "1080p"],
  }),
  model("vidu-q3", "video", [...T2V_I2V, "turbo-text-to-video", "turbo-image-to-video"], {
    promptMaxChars: 5000,
    media: { image_urls: upTo(2) },
    rules: sameRule(["image-to-video", "turbo-image-to-video"], { media: { image_urls: between(1, 2) } }),
    durationsSec: { min: 1, max: 16 },
    resolutions: ["540p", "720p", "1080p"],
  }),
  model("ltx-2-19b", "video", [...T2V_I2V, "text-to-video-LoRA", "image-to-video-LoRA"], {
    promptMaxChars: 5000,
    media: { image_urls: upTo(1) },
    rules: sameRule(["image-to-video", "image-to-video-LoRA"], { media: { image_urls: exactly(1) } }),
    durationsSec: { min: 5, max: 20 },
    resolutions: ["480p", "720p", "1080p"],
    typicalMs: 60_000,
  }),
  // image-to-video takes one image or an earlier grok-image task_id + index, so no image is required.
  model("grok-video", "video", T2V_I2V, {
    promptMaxChars: 5000,
    media: { image_urls: upTo(1) },
    durationsSec: { min: 6, max: 30 },
    resolutions: ["480p", "720p"],
  }),
  // Camel-case id, sent verbatim; its aspect field is `ratio`. video-edit is billed on the input video's length.
  model("happyHorse", "video", ["text-to-video", "image-to-video", "reference-to-video", "video-edit"], {
    promptMaxChars: 2500,
    media: { image_urls: upTo(9) },
    rules: {
      "image-to-video": { promptRequired: false, media: { image_urls: exactly(1) } },
      "reference-to-video": { media: { image_urls: between(1, 9) } },
      "video-edit": { media: { image_urls: upTo(5), video_urls: exactly(1) } },
    },
    durationsSec: { min: 3, max: 15 },
    resolutions: ["720p", "1080p"],
  }),
  // image_urls[0] is the portrait, [1] an optional mask; exactly one driving audio.
  model("infinitetalk", "video", ["image-to-video"], {
    promptRequired: false,
    media: { image_urls: between(1, 2), audio_urls: exactly(1) },
    resolutions: ["480p", "720p"],
  }),
];
