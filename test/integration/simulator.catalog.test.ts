import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FAIL_CODES } from "../../src/apixo/models.js";
import { buildPriceTable, estimateCost } from "../../src/apixo/prices.js";
import { ManualClock } from "../../src/clock.js";
import { createSimulator, type Simulator } from "../../src/simulator/index.js";
import { P, PRICING, urls, VALIDATION } from "../helpers/catalogCases.js";
import { startHarness, UPSTREAM_KEY } from "../helpers/gatewayHarness.js";

const KEY = "sk-sim-catalog";
const clock = new ManualClock();
let sim: Simulator;

beforeAll(async () => {
  sim = createSimulator({ keys: { [KEY]: 100 }, pendingMs: 0, processingMs: 0, clock });
  await sim.listen(0);
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.reset();
});

async function submit(
  model: string,
  body: unknown,
): Promise<{ status: number; error?: string; taskId?: string }> {
  const res = await fetch(`${sim.url}/api/v1/generateTask/${model}`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { data: { error?: string; taskId?: string } | null };
  return { status: res.status, ...json.data };
}

describe("the simulator takes the gateway's catalog", () => {
  it.each(VALIDATION)(
    "%s: accepts what the gateway accepts and refuses it broken",
    async (model, ok, bad, field, message) => {
      expect((await submit(model, { input: ok })).status).toBe(200);
      const refused = await submit(model, { input: bad });
      expect(refused.status).toBe(400);
      // Prompt and mode answers keep APIXO's own wording; the catalog's count and field rules share the gateway's.
      if (field === "input.prompt" || field === "input.mode") expect(refused.error).toContain(field);
      else expect(refused.error).toBe(message);
      expect(sim.stats.tasks).toBe(1);
    },
  );

  it("answers a catalog failCode with the catalog's failMsg", async () => {
    const { taskId } = await submit("nano-banana", {
      input: { prompt: `${P} sim:fail=SensitiveContentDetected` },
    });
    const res = await fetch(`${sim.url}/api/v1/statusTask/nano-banana?taskId=${taskId ?? ""}`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    const { data } = (await res.json()) as { data: { failCode: string; failMsg: string } };
    expect(data).toMatchObject({
      failCode: "SensitiveContentDetected",
      failMsg: FAIL_CODES.SensitiveContentDetected,
    });
  });
});

describe("the simulator charges what the gateway's price table charges", () => {
  const table = buildPriceTable();

  it.each(PRICING)("%s: the balance drops by the gateway's estimate", async (model, body, micros) => {
    const before = sim.balanceUsd(KEY);
    // The documented rule's body, plus whatever the model's validation needs (a prompt at least).
    const input = { prompt: P, ...(body.input as object), ...REQUIRED[model] };
    const request = { ...body, input };
    expect((await submit(model, request)).status).toBe(200);
    const estimate = estimateCost(table, model, request);
    expect(estimate).toMatchObject({ kind: "priced", costMicros: micros });
    expect(Math.round((before - sim.balanceUsd(KEY)) * 1e6)).toBe(micros);
  });

  it("charges midjourney by the route asked for, auto at the dearest", async () => {
    const drop = async (provider?: string): Promise<number> => {
      const before = sim.balanceUsd(KEY);
      await submit("midjourney", {
        ...(provider === undefined ? {} : { provider }),
        input: { prompt: P, speed: "turbo" },
      });
      return Math.round((before - sim.balanceUsd(KEY)) * 1e6);
    };
    expect(await drop("value")).toBe(200_000);
    expect(await drop("official")).toBe(250_000);
    expect(await drop()).toBe(250_000);
  });
});

describe("behind the gateway, the upstream balance drops by exactly the gateway's spend", () => {
  it("for one request per priced model, and midjourney on every route", async () => {
    const harness = await startHarness({ tenants: [{ id: "acme", dailyCapUsd: 100 }] });
    try {
      const before = harness.simulator.balanceUsd(UPSTREAM_KEY);
      const bodies = [
        ...PRICING.map(
          ([model, body]) =>
            [
              model,
              { ...body, input: { prompt: P, ...(body.input as object), ...REQUIRED[model] } },
            ] as const,
        ),
        ...["value", "official", "auto"].map(
          (provider) => ["midjourney", { provider, input: { prompt: P, speed: "fast" } }] as const,
        ),
      ];
      for (const [model, body] of bodies) {
        const res = await fetch(`${harness.url}/api/v1/generateTask/${model}`, {
          method: "POST",
          headers: { ...harness.auth("acme"), "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        expect(res.status, model).toBe(200);
      }
      const day = new Date().toISOString().slice(0, 10);
      const spent = (await harness.gateway.store.snapshot("acme", day)).spentMicros;
      expect(spent).toBe(
        PRICING.reduce((sum, [, , micros]) => sum + micros, 0) + 100_000 + 150_000 + 150_000,
      );
      expect(Math.round((before - harness.simulator.balanceUsd(UPSTREAM_KEY)) * 1e6)).toBe(spent);
    } finally {
      await harness.close();
    }
  });
});

/** Fields a model requires that a pricing case does not carry. */
const REQUIRED: Readonly<Record<string, Record<string, unknown>>> = {
  flux2: { image_urls: urls(1) },
  suno: { customMode: false, instrumental: false },
};
