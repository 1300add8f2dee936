/**
 * Image models (apixo-catalog.md section 1a). Limits are the newest doc generation's; where generations
 * disagree the older value is noted and never enforced.
 */
import { between, exactly, model, sameRule, upTo, type ModelSpec } from "./spec.js";

const T2I_I2I = ["text-to-image", "image-to-image"] as const;

/** Text-to-image takes optional references up to `max`; image-to-image needs 1 to `max`. */
function t2iI2i(max: number): Pick<ModelSpec, "media" | "rules"> {
  return {
    media: { image_urls: upTo(max) },
    rules: { "image-to-image": { media: { image_urls: between(1, max) } } },
  };
}

export const IMAGE_MODELS: readonly ModelSpec[] = [
  model("nano-banana", "image", T2I_I2I, { promptMaxChars: 5000, ...t2iI2i(5), typicalMs: 15_000 }),
  model("nano-banana-2", "image", T2I_I2I, {
    promptMaxChars: 20_000,
    ...t2iI2i(14),
    required: ["aspect_ratio", "resolution"],
    resolutions: ["1k", "2k", "4k"],
  }),
  // Only gen-C pages exist: no prompt or count limit documented.
  model("nano-banana-pro", "image", T2I_I2I, {
    rules: { "image-to-image": { media: { image_urls: between(1) } } },
    resolutions: ["2K", "4K"],
  }),
  // Its one mode string is the model id. Gen B called num_images nVariants; both pass through.
  model("gpt-image-1", "image", ["gpt-image-1"], {
    promptMaxChars: 10_000,
    media: { image_urls: upTo(5) },
    typicalMs: 40_000,
  }),
  model("gpt-image-2", "image", T2I_I2I, {
    promptMaxChars: 20_000,
    ...t2iI2i(16),
    resolutions: ["1k", "2k", "4k"],
    typicalMs: 60_000,
  }),
  // `flux-2` in gens A and D2, `flux2` in D1: both reach the model. flux2 stays the id the gateway sends,
  // as before this catalog, so upstream paths and metric labels do not change under operators.
  model(
    "flux2",
    "image",
    ["pro-text-to-image", "pro-image-to-image", "flex-text-to-image", "flex-image-to-image"],
    {
      aliases: ["flux-2"],
      promptMinChars: 3,
      promptMaxChars: 5000,
      media: { image_urls: upTo(8) },
      rules: sameRule(["pro-image-to-image", "flex-image-to-image"], {
        media: { image_urls: between(1, 8) },
      }),
      // The newest page marks resolution required; it is not enforced, so clients that send none (priced at
      // 1K) keep working as they did before this catalog. A deliberate leniency.
      resolutions: ["1K", "2K"],
      typicalMs: 30_000,
    },
  ),
  // Gen B sent a single `image_url`; it passes through (only image_urls is counted).
  model("flux-kontext", "image", ["pro", "max"], {
    promptMaxChars: 10_000,
    media: { image_urls: upTo(1) },
    typicalMs: 15_000,
  }),
  // Newest modes; the older D2 page had upload-paint instead of image-edit. vary/upscale/enhance work on an
  // earlier task's image (taskId + imageIndex), reroll on an earlier task. 2000 characters is the newest
  // limit (the 7500-byte cap beside it is not enforced: the docs do not say which of the two wins).
  model(
    "midjourney",
    "image",
    ["text-to-image", "image-to-image", "image-edit", "vary", "upscale", "reroll", "enhance"],
    {
      legacyModes: ["upload-paint"],
      promptMaxChars: 2000,
      media: { image_urls: upTo(20) },
      rules: {
        "image-to-image": { media: { image_urls: between(1, 20) } },
        "image-edit": { media: { image_urls: exactly(1) } },
        ...sameRule(["vary", "upscale", "enhance"], {
          promptRequired: false,
          required: ["taskId", "imageIndex"],
        }),
        reroll: { promptRequired: false, required: ["taskId"] },
      },
      outputsPerTask: 4,
      typicalMs: 60_000,
    },
  ),
  // Gen A allowed 10 references; D2 allows 14.
  model("seedream-4-5", "image", T2I_I2I, {
    promptMaxChars: 5000,
    ...t2iI2i(14),
    required: ["max_images"],
    resolutions: ["2K", "4K"],
    typicalMs: 35_000,
  }),
  // max_images is called both required and defaulted (1) on the same page: not required here.
  model("seedream-5-0", "image", T2I_I2I, { promptMaxChars: 5000, ...t2iI2i(14), resolutions: ["2K", "3K"] }),
  model("grok-image", "image", T2I_I2I, {
    promptMaxChars: 5000,
    media: { image_urls: upTo(1) },
    rules: { "image-to-image": { media: { image_urls: exactly(1) } } },
  }),
  // The docs say the model truncates prompts over 2000 characters: a longer one is not refused.
  model("wan-2-5-image", "image", T2I_I2I, { ...t2iI2i(3) }),
  // Truncates over 5000 characters, likewise; references are optional in both modes.
  model("wan-2-7-image", "image", ["omni-image", "omni-image-pro"], {
    media: { image_urls: upTo(9) },
    resolutions: ["1k", "2k", "4k"],
  }),
  // Takes no prompt (an unknown field to it, so one is not refused either); exactly one source image.
  model("image-upscaler", "image", ["image-to-image"], {
    promptRequired: false,
    media: { image_urls: exactly(1) },
    resolutions: ["2k", "4k", "8k"],
  }),
];
