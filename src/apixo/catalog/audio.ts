/** Audio models (apixo-catalog.md section 1c). None takes image_urls. */
import { exactly, model, upTo, type ModelSpec } from "./spec.js";

const NO_IMAGES = { image_urls: upTo(0) };

export const AUDIO_MODELS: readonly ModelSpec[] = [
  // customMode/instrumental decide whether a prompt is needed (an instrumental in custom mode needs none), and
  // the prompt limit (500 non-custom, 3000 custom V4, 5000 otherwise): only the widest bound is enforced.
  model("suno", "audio", ["V4", "V4_5", "V4_5ALL", "V4_5PLUS", "V5", "V5_5"], {
    promptRequired: false,
    promptMaxChars: 5000,
    media: NO_IMAGES,
    required: ["mode", "customMode", "instrumental"],
    outputsPerTask: 2,
    typicalMs: 60_000,
  }),
  model("minimax-speech-2-8", "audio", ["speech-turbo", "speech-hd"], {
    promptMaxChars: 10_000,
    media: NO_IMAGES,
    typicalMs: 10_000,
  }),
  // Designs or clones a voice; its preview text is not `prompt`, so no prompt rule applies.
  model("minimax-voice", "audio", ["design", "clone"], {
    promptRequired: false,
    media: NO_IMAGES,
    rules: { clone: { media: { audio_urls: exactly(1) } } },
    typicalMs: 10_000,
  }),
];
