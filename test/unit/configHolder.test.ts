import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { configSchema } from "../../src/config/schema.js";
import { ConfigHolder } from "../../src/gateway/configHolder.js";
import { noEvents } from "../../src/telemetry/events.js";
import { createLogger } from "../../src/telemetry/logger.js";

const dir = mkdtempSync(join(tmpdir(), "agw-holder-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function configWith(upstreamKey: string) {
  return {
    upstream: {
      keys: [
        { alias: "main", key: "sk-main" },
        { alias: "batch", key: "sk-batch" },
      ],
    },
    tenants: [
      {
        id: "acme",
        keys: [{ hash: `sha256:${"0".repeat(63)}1` }],
        upstreamKey,
      },
    ],
  };
}

describe("configuration reload and the tenant's key slot", () => {
  it("refuses a reload that moves a tenant to another upstream key (its keys live in that account's slot)", async () => {
    const path = join(dir, "gateway.json");
    const holder = new ConfigHolder(configSchema.parse(configWith("main")), {
      clock: new ManualClock(0),
      logger: createLogger("silent"),
      events: noEvents,
      path,
    });
    writeFileSync(path, JSON.stringify(configWith("batch")));
    expect(await holder.reload()).toBe(false);
    expect(holder.snapshot().policy("acme")?.tenant.upstreamKey).toBe("main");
    writeFileSync(path, JSON.stringify({ ...configWith("main"), logging: { level: "debug" } }));
    expect(await holder.reload()).toBe(true);
  });
});
