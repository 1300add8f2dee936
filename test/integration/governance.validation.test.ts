import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ tenants: [{ id: "acme", dailyCapUsd: 10 }] });
});
afterAll(async () => {
  await harness.close();
});

const CASES: [string, string, unknown, RegExp][] = [
  ["body is a JSON object", "nano-banana", [1, 2], /JSON object/],
  ["input is an object", "nano-banana", { input: "draw a cat" }, /input/],
  ["prompt is a string", "nano-banana", { input: { prompt: 42 } }, /input\.prompt/],
  ["prompt is not empty", "nano-banana", { input: { prompt: "   " } }, /input\.prompt/],
  ["prompt within the model's limit", "nano-banana", { input: { prompt: "x".repeat(5001) } }, /5000/],
  [
    "image_urls is an array",
    "nano-banana",
    { input: { prompt: "x", image_urls: "https://a/b.png" } },
    /image_urls/,
  ],
  [
    "image_urls are http(s)",
    "nano-banana",
    { input: { prompt: "x", image_urls: ["file:///etc/passwd"] } },
    /image_urls\[0\]/,
  ],
  [
    "image_urls within the model's count",
    "nano-banana",
    { input: { prompt: "x", image_urls: Array.from({ length: 6 }, (_, i) => `https://img/${i}.png`) } },
    /at most 5/,
  ],
  [
    "request_type is async or callback",
    "nano-banana",
    { request_type: "sync", input: { prompt: "x" } },
    /request_type/,
  ],
  [
    "callback needs callback_url",
    "nano-banana",
    { request_type: "callback", input: { prompt: "x" } },
    /callback_url/,
  ],
  // The catalog's rules (every model's are in test/unit/apixo.catalog.test.ts): mode, per-mode counts, fields.
  [
    "mode is one the model lists",
    "veo-3-1",
    { input: { prompt: "x", mode: "ultra" } },
    /input\.mode must be one of quality, fast/,
  ],
  [
    "a mode's media count",
    "kling-3-0-std",
    { input: { mode: "motion-control", image_urls: ["https://img/a.png"] } },
    /input\.video_urls is required when input\.mode is "motion-control"; give exactly 1/,
  ],
  [
    "a field the docs require",
    "kling-2-6",
    { input: { prompt: "x" } },
    /input\.sound is required for kling-2-6/,
  ],
];

describe("input validation before any money is reserved", () => {
  for (const [rule, model, body, message] of CASES) {
    it(`refuses with 400 when the rule "${rule}" is broken, and reserves nothing`, async () => {
      const response = await fetch(`${harness.url}/api/v1/generateTask/${model}`, {
        method: "POST",
        headers: { ...harness.auth("acme"), "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const envelope = (await response.json()) as { message: string; error: { type: string } };
      expect(response.status).toBe(400);
      expect(envelope.error.type).toBe("INVALID_REQUEST");
      expect(envelope.message).toMatch(message);
      expect(harness.simulator.stats.count()).toBe(0);
      const day = new Date().toISOString().slice(0, 10);
      expect((await harness.gateway.store.snapshot("acme", day)).spentMicros).toBe(0);
    });
  }

  it("passes unknown fields through untouched", async () => {
    const body =
      '{"input":{"prompt":"x","brand_new_field":{"nested":true}},"provider":"official","future":1}';
    const response = await fetch(`${harness.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { ...harness.auth("acme"), "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(200);
    expect(harness.simulator.stats.requests.at(-1)?.body.toString()).toBe(body);
  });

  it("refuses a model without a price when the tenant rejects unpriced models", async () => {
    const strict = await startHarness({ tenants: [{ id: "acme", allowedModels: ["*"] }] });
    try {
      const response = await fetch(`${strict.url}/api/v1/generateTask/brand-new-model`, {
        method: "POST",
        headers: { ...strict.auth("acme"), "content-type": "application/json" },
        body: '{"input":{"prompt":"x"}}',
      });
      const envelope = (await response.json()) as { message: string; error: { type: string } };
      expect(response.status).toBe(403);
      expect(envelope.message).toContain("no price");
      expect(strict.simulator.stats.count()).toBe(0);
    } finally {
      await strict.close();
    }
  });

  it("charges the configured default for a model without a price when the tenant allows it", async () => {
    const lenient = await startHarness({
      tenants: [{ id: "acme", unpricedModels: { chargeUsd: 0.25 }, dailyCapUsd: 1 }],
    });
    try {
      const response = await fetch(`${lenient.url}/api/v1/generateTask/brand-new-model`, {
        method: "POST",
        headers: { ...lenient.auth("acme"), "content-type": "application/json" },
        body: '{"input":{"prompt":"x"}}',
      });
      // The simulator does not know the model either: APIXO's 404 passes through and the reservation is released.
      expect(response.status).toBe(404);
      expect(response.headers.get("x-budget-remaining-usd")).toBe("0.75");
      const day = new Date().toISOString().slice(0, 10);
      expect((await lenient.gateway.store.snapshot("acme", day)).spentMicros).toBe(0);
    } finally {
      await lenient.close();
    }
  });
});
