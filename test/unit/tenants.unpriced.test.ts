import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS } from "../../src/apixo/models.js";
import { buildPriceTable, DEFAULT_PRICES } from "../../src/apixo/prices.js";
import { configSchema } from "../../src/config/schema.js";
import { ConfigHolder } from "../../src/gateway/configHolder.js";
import { ManualClock } from "../../src/clock.js";
import { noEvents } from "../../src/telemetry/events.js";
import type { Logger } from "../../src/telemetry/logger.js";
import { hashGatewayKey } from "../../src/tenants/keys.js";
import { unpricedModelsInUse } from "../../src/tenants/unpriced.js";

function config(tenants: unknown[], prices: Record<string, unknown> = {}) {
  return configSchema.parse({
    upstream: { keys: [{ alias: "main", key: "k" }] },
    governance: { prices },
    tenants: tenants.map((t, i) => ({
      id: `t${i}`,
      upstreamKey: "main",
      keys: [{ hash: hashGatewayKey(`agw_${i}`) }],
      ...(t as object),
    })),
  });
}

describe("start-up lists the models in use that have no price", () => {
  it("names each unpriced model a tenant allows, with that tenant's unpricedModels policy", () => {
    const cfg = config([
      { allowedModels: ["nano-banana", "kling-2-6", "wan-2-5"] },
      { allowedModels: ["kling-2-6"], unpricedModels: { chargeUsd: 0.5 } },
    ]);
    expect(unpricedModelsInUse(cfg, buildPriceTable())).toEqual([
      { model: "kling-2-6", tenants: { t0: "reject", t1: 0.5 } },
      { model: "wan-2-5", tenants: { t0: "reject" } },
    ]);
  });

  it("takes '*' as the whole catalog, and a model priced under prices: as priced", () => {
    const cfg = config([{ allowedModels: ["*"] }], { "kling-2-6": { baseUsd: 0.7 } });
    const models = unpricedModelsInUse(cfg, buildPriceTable(cfg.governance.prices)).map((u) => u.model);
    expect(models).toHaveLength(MODELS.length - Object.keys(DEFAULT_PRICES).length - 1);
    expect(models).not.toContain("kling-2-6");
    expect(models).not.toContain("nano-banana");
    expect(models).toContain("happyHorse");
  });

  it("logs them once when the configuration is loaded", () => {
    const warnings: { fields: unknown; message: string }[] = [];
    const logger = {
      warn: (fields: unknown, message: string) => warnings.push({ fields, message }),
    } as unknown as Logger;
    new ConfigHolder(config([{ allowedModels: ["wan-2-5", "suno"] }]), {
      clock: new ManualClock(),
      logger,
      events: noEvents,
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.fields).toMatchObject({ event: "unpriced_models", models: ["wan-2-5"] });
    expect(warnings[0]?.message).toMatch(/unpricedModels/);
  });

  it("logs them again after a reload, for the new configuration", async () => {
    const warnings: unknown[] = [];
    const logger = {
      warn: (fields: unknown) => warnings.push(fields),
      error: () => undefined,
    } as unknown as Logger;
    const dir = mkdtempSync(join(tmpdir(), "unpriced-"));
    const path = join(dir, "gateway.yaml");
    const yaml = (model: string): string =>
      `upstream: { keys: [{ alias: main, key: k }] }\ntenants:\n  - id: acme\n    upstreamKey: main\n` +
      `    keys: [{ hash: "${hashGatewayKey("agw_x")}" }]\n    allowedModels: [${model}]\n`;
    try {
      writeFileSync(path, yaml("suno"));
      const holder = new ConfigHolder(config([{ allowedModels: ["suno"] }]), {
        clock: new ManualClock(),
        logger,
        events: noEvents,
        path,
      });
      expect(warnings).toEqual([]);
      writeFileSync(path, yaml("happyHorse"));
      expect(await holder.reload()).toBe(true);
      expect(warnings).toMatchObject([{ event: "unpriced_models", models: ["happyHorse"] }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
