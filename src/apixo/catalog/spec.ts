/**
 * The shape of one model in APIXO's generation catalog (shared/reference/apixo-catalog.md / .json), as the
 * gateway needs it. A hand-written typed table rather than the JSON loaded at run time: the JSON's limits are
 * irregular (per-mode counts written four ways, durations as lists, ranges or prose, prices nested by doc
 * generation), so reading it would mean interpreting prose at run time; normalising it once here lets the
 * compiler check every entry, and test/unit/apixo.catalog.test.ts holds the table to a committed copy of the JSON.
 */
export type ModelKind = "image" | "video" | "audio";

/** The URL-list fields whose count a model's docs fix (other URL fields are only checked for safety). */
export const MEDIA_FIELDS = ["image_urls", "video_urls", "audio_urls"] as const;
export type MediaField = (typeof MEDIA_FIELDS)[number];

/** How many URLs a field may hold; `max` undefined when the docs give no upper bound. */
export interface Count {
  readonly min: number;
  readonly max?: number;
}
export type MediaCounts = Readonly<Partial<Record<MediaField, Count>>>;

/** What changes when `input[ruleField]` has a given value (a mode, or veo's generationType). */
export interface ModeRule {
  readonly promptRequired?: boolean;
  /** Replaces the model's count, field by field. */
  readonly media?: MediaCounts;
  /** Input fields this mode needs beyond the model's own. */
  readonly required?: readonly string[];
}

export interface Range {
  readonly min: number;
  readonly max: number;
}

export interface ModelSpec {
  /** The id the gateway calls APIXO with, verbatim (`happyHorse` is camel-case). */
  readonly id: string;
  /** Other spellings the docs use for the same model (`flux-2` for `flux2`). */
  readonly aliases: readonly string[];
  readonly kind: ModelKind;
  /** Exact `input.mode` strings of the newest doc generation; empty when the model takes no mode. */
  readonly modes: readonly string[];
  /** Mode strings only older generations list: passed through, never refused (the docs disagree). */
  readonly legacyModes: readonly string[];
  /** The input field whose value picks a `rules` entry: `mode`, except veo-3-1 (`generationType`). */
  readonly ruleField: string;
  readonly rules: Readonly<Record<string, ModeRule>>;
  readonly promptRequired: boolean;
  readonly promptMinChars: number;
  /** Undefined where the docs give no limit or say the model truncates (then a longer prompt is not wrong). */
  readonly promptMaxChars: number | undefined;
  readonly media: MediaCounts;
  /** Input fields the newest docs mark required. */
  readonly required: readonly string[];
  /** `input.resolution` values, exact case; empty when not documented. The simulator checks these. */
  readonly resolutions: readonly string[];
  /** Accepted `input.duration` seconds: every value some generation documents (lenient), or a range. */
  readonly durationsSec: readonly number[] | Range | undefined;
  /** Outputs one task produces (Midjourney returns 4 images, Suno 2 tracks). */
  readonly outputsPerTask: number;
  /** A typical processing time, used by the simulator's default timing and by early-poll pacing. */
  readonly typicalMs: number;
}

export type ModelFields = Partial<Omit<ModelSpec, "id" | "kind" | "modes">>;

const TYPICAL_MS: Readonly<Record<ModelKind, number>> = { image: 20_000, video: 120_000, audio: 60_000 };

/** A catalog entry with the defaults most models share: prompt required, 1 character at least, no media. */
export function model(id: string, kind: ModelKind, modes: readonly string[], fields: ModelFields): ModelSpec {
  return {
    id,
    kind,
    modes,
    aliases: [],
    legacyModes: [],
    ruleField: "mode",
    rules: {},
    promptRequired: true,
    promptMinChars: 1,
    promptMaxChars: undefined,
    media: {},
    required: [],
    resolutions: [],
    durationsSec: undefined,
    outputsPerTask: 1,
    typicalMs: TYPICAL_MS[kind],
    ...fields,
  };
}

export const upTo = (max: number): Count => ({ min: 0, max });
export const between = (min: number, max?: number): Count => (max === undefined ? { min } : { min, max });
export const exactly = (n: number): Count => ({ min: n, max: n });

/** The same rule for several modes (all image-to-video modes take the same frames). */
export function sameRule(modes: readonly string[], rule: ModeRule): Record<string, ModeRule> {
  return Object.fromEntries(modes.map((mode) => [mode, rule]));
}
