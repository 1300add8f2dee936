/**
 * Default prices, from the price points in shared/reference/apixo-api.md. They only need to be plausible so that
 * budgets drain at a realistic pace; a load test that needs exact prices passes its own `priceMicros`.
 */
const FLAT_PRICE_MICROS: Readonly<Record<string, number>> = {
  "nano-banana": 30_000,
  flux2: 50_000,
  "gpt-image-1": 350_000,
  midjourney: 100_000,
  "sora-2": 500_000,
  "veo-3-1": 200_000,
  suno: 120_000,
};

export const UNKNOWN_MODEL_PRICE_MICROS = 50_000;

/** The two documented price steps that depend on input, so video budgets are not wildly off. */
export function defaultPriceMicros(model: string, input: Record<string, unknown>): number {
  if (model === "veo-3-1" && input.mode === "quality") return 1_500_000;
  if (model === "sora-2" && Number(input.duration) === 15) return 750_000;
  return FLAT_PRICE_MICROS[model] ?? UNKNOWN_MODEL_PRICE_MICROS;
}
