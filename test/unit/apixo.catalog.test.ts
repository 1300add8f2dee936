import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { findModel, documentedSpelling, MODELS } from "../../src/apixo/models.js";
import type { ModelSpec } from "../../src/apixo/models.js";
import {
  buildPriceTable,
  DEFAULT_PRICES,
  estimateCost,
  modelLabelId,
  unpricedCatalogModels,
} from "../../src/apixo/prices.js";
import { between, model } from "../../src/apixo/catalog/spec.js";
import { validateSubmit } from "../../src/apixo/validate.js";
import { mode, P, PRICING, url, urls, VALIDATION } from "../helpers/catalogCases.js";

/** A copy of shared/reference/apixo-catalog.json: the table in src/apixo/catalog is written from it. */
interface CatalogEntry {
  model: string;
  kind: string;
  modes: string[];
  priceRule: Record<string, unknown> & { source: string | null };
  limits: { promptMaxChars: number | null };
}
const CATALOG = JSON.parse(
  readFileSync(new URL("../fixtures/apixo-catalog.json", import.meta.url), "utf8"),
) as CatalogEntry[];

/** The catalog writes flux-2; the gateway keeps flux2 as the id it sends and flux-2 as the alias. */
const ID_OF: Readonly<Record<string, string>> = { "flux-2": "flux2" };
/** The docs say these truncate longer prompts, so the table sets no maximum to refuse. */
const TRUNCATING = new Set(["wan-2-5-image", "wan-2-7-image"]);

function spec(id: string): ModelSpec {
  const found = findModel(id);
  if (found === undefined) throw new Error(`${id} is not in the catalog`);
  return found;
}

function hasFigure(value: unknown): boolean {
  if (typeof value === "number") return true;
  if (typeof value !== "object" || value === null) return false;
  return Object.values(value).some(hasFigure);
}

describe("the catalog table matches apixo-catalog.json", () => {
  it("knows every model id, its kind and its modes (newest generation)", () => {
    expect(MODELS.map((m) => m.id).sort()).toEqual(CATALOG.map((e) => ID_OF[e.model] ?? e.model).sort());
    for (const entry of CATALOG) {
      const model = spec(ID_OF[entry.model] ?? entry.model);
      expect(model.kind, entry.model).toBe(entry.kind);
      expect(model.modes, entry.model).toEqual(entry.modes);
    }
  });

  it("takes each documented prompt limit, none where the docs give none or say the model truncates", () => {
    for (const entry of CATALOG) {
      const model = spec(ID_OF[entry.model] ?? entry.model);
      const expected = TRUNCATING.has(entry.model) ? undefined : (entry.limits.promptMaxChars ?? undefined);
      expect(model.promptMaxChars, entry.model).toBe(expected);
    }
  });

  it("prices exactly the models with a figure on an APIXO page, and leaves the rest unpriced", () => {
    const documented = CATALOG.filter(
      (e) => e.priceRule.source?.includes("apixo.ai") === true && hasFigure(e.priceRule),
    ).map((e) => ID_OF[e.model] ?? e.model);
    expect(Object.keys(DEFAULT_PRICES).sort()).toEqual(documented.sort());
    const unpriced = unpricedCatalogModels(buildPriceTable());
    expect(unpriced).toHaveLength(MODELS.length - documented.length);
    expect(unpriced).toContain("gpt-image-2"); // its only figure is a third party's, for 1k only
    expect(unpriced).toContain("kling-2-6");
  });

  it("resolves the documented alias, and finds a mis-cased id only on purpose", () => {
    expect(findModel("flux-2")?.id).toBe("flux2");
    expect(findModel("happyhorse")).toBeUndefined();
    expect(documentedSpelling("happyhorse")).toBe("happyHorse");
    expect(documentedSpelling("Flux-2")).toBe("flux-2");
  });
});

describe("every catalog model's rules, one case each", () => {
  it("has a case for every model", () => {
    expect(VALIDATION.map(([model]) => model).sort()).toEqual(MODELS.map((m) => m.id).sort());
  });

  it.each(VALIDATION)(
    "%s: accepts the documented request and refuses it broken",
    (id, ok, bad, field, message) => {
      expect(validateSubmit(spec(id), { input: ok })).toMatchObject({ ok: true });
      expect(validateSubmit(spec(id), { input: bad })).toEqual({ ok: false, field, message });
    },
  );

  it("passes an older generation's mode and unknown fields through", () => {
    const body = { input: { prompt: P, mode: "upload-paint", image_urls: urls(1), future_field: 1 } };
    expect(validateSubmit(spec("midjourney"), body).ok).toBe(true);
    expect(validateSubmit(spec("sora-2"), { input: { prompt: P, duration: 15, n_frames: "15" } }).ok).toBe(
      true,
    );
  });

  it("refuses a mode that is not a string, naming its type", () => {
    expect(validateSubmit(spec("veo-3-1"), { input: { prompt: P, mode: 1 } })).toEqual({
      ok: false,
      field: "input.mode",
      message: "input.mode must be one of quality, fast for veo-3-1; got a number.",
    });
  });

  it("refuses a media field that is not a list, and too few URLs where a mode needs more", () => {
    expect(
      validateSubmit(spec("kling-3-0-std"), {
        input: { mode: "motion-control", image_urls: urls(1), video_urls: url(0) },
      }),
    ).toEqual({
      ok: false,
      field: "input.video_urls",
      message: "input.video_urls must be an array of http(s) URLs; got a string.",
    });
    expect(
      validateSubmit(spec("happyHorse"), {
        input: { mode: "reference-to-video", prompt: P, image_urls: [] },
      }),
    ).toEqual({
      ok: false,
      field: "input.image_urls",
      message: `input.image_urls is required${mode("reference-to-video")}; give 1 to 9 http(s) URLs.`,
    });
  });
});

describe("a media count rule, on a model of its own", () => {
  const pair = model("pair-model", "video", ["a"], {
    promptRequired: false,
    media: { image_urls: between(2, 3) },
  });

  it("says how many a request gave and how many the model needs", () => {
    expect(validateSubmit(pair, { input: { image_urls: urls(1) } })).toEqual({
      ok: false,
      field: "input.image_urls",
      message: "input.image_urls has 1 URL; pair-model needs 2 to 3 http(s) URLs.",
    });
  });

  it("counts null as no URLs", () => {
    expect(validateSubmit(pair, { input: { image_urls: null } })).toMatchObject({
      ok: false,
      message: "input.image_urls is required for pair-model; give 2 to 3 http(s) URLs.",
    });
    expect(validateSubmit(pair, { input: { image_urls: urls(2) } }).ok).toBe(true);
  });
});

describe("every priced catalog model, one case each", () => {
  const table = buildPriceTable();

  it("has a case for every built-in price", () => {
    expect(PRICING.map(([model]) => model).sort()).toEqual(Object.keys(DEFAULT_PRICES).sort());
  });

  it.each(PRICING)("%s: prices the request from its documented rule", (model, body, micros, detail) => {
    expect(estimateCost(table, model, body)).toEqual({ kind: "priced", costMicros: micros, detail });
  });

  it("charges midjourney's auto route at the dearest (official) price, and draft at the base", () => {
    expect(estimateCost(table, "midjourney", { input: { speed: "fast" } })).toEqual({
      kind: "priced",
      costMicros: 150_000,
      detail: "midjourney auto (as official) fast = $0.15",
    });
    const draft = estimateCost(table, "midjourney", { provider: "value", input: { speed: "draft" } });
    expect(draft).toEqual({ kind: "priced", costMicros: 200_000, detail: "midjourney value base = $0.20" });
  });

  it("prices sora-2's newer short durations in the 10 s tier", () => {
    expect(estimateCost(table, "sora-2", { input: { duration: 4 } })).toMatchObject({ costMicros: 100_000 });
    expect(estimateCost(table, "sora-2", { input: {} })).toMatchObject({ costMicros: 150_000 });
  });

  it("leaves a catalog model without a documented figure unpriced", () => {
    expect(estimateCost(table, "kling-2-6", { input: { prompt: P } })).toEqual({ kind: "unpriced" });
  });

  it("lists in docs/pricing.md exactly the catalog models left unpriced", () => {
    const doc = readFileSync(new URL("../../docs/pricing.md", import.meta.url), "utf8");
    const start = doc.indexOf("**Every other catalog model is unpriced**");
    const paragraph = doc.slice(start, doc.indexOf("Their docs", start));
    const listed = [...paragraph.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    expect(listed).toEqual(unpricedCatalogModels(table));
  });

  it("labels metrics by catalog id, priced or not, and by an operator's priced id; anything else is other", () => {
    const priced = buildPriceTable({ "my-model": { baseUsd: 1 } });
    expect(modelLabelId(priced, "kling-2-6")).toBe("kling-2-6");
    expect(modelLabelId(priced, "flux-2")).toBe("flux2");
    expect(modelLabelId(priced, "my-model")).toBe("my-model");
    expect(modelLabelId(priced, "dall-e-9")).toBeUndefined();
  });
});
