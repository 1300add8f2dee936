import { spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { addDays, dayWindow, localDay } from "../../src/limits/days.js";
import { RedisStore } from "../../src/limits/redis.js";
import { createRedisClient, waitForRedisReady } from "../../src/limits/redisClient.js";
import { parseCsv } from "../helpers/csv.js";
import { startHarness, type Harness } from "../helpers/gatewayHarness.js";

const hash = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;

function configYaml(store: string): string {
  return `
upstream:
  keys:
    - alias: main
      key: \${TEST_UPSTREAM_KEY:-sk-upstream-test}
store:
${store}
tenants:
  - id: acme
    name: Acme Corp
    keys: [{ hash: "${hash("acme-key")}" }]
    upstreamKey: main
    dailyCapUsd: 10
    monthlyCapUsd: 100
  - id: initech
    keys: [{ hash: "${hash("initech-key")}" }]
    upstreamKey: main
`;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stdout, stderr };
}

describe("apixo-gateway usage", () => {
  const prefix = `test-usage-${randomUUID()}`;
  let dir: string;
  let redisConfig: string;
  let today: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "apixo-usage-"));
    redisConfig = join(dir, "redis.yaml");
    await writeFile(
      redisConfig,
      configYaml(
        `  kind: redis\n  redisUrl: ${inject("redisUrl")}\n  keyPrefix: ${prefix}\n  commandTimeoutMs: 2000`,
      ),
    );
    await writeFile(join(dir, "memory.yaml"), configYaml("  kind: memory"));

    // Seed through the store's public API with the same window the gateway would use for a UTC tenant now.
    const redis = createRedisClient(inject("redisUrl"), { commandTimeoutMs: 2000 });
    await waitForRedisReady(redis, 5000);
    const store = new RedisStore({ redis, prefix, accountOf: () => "main" });
    const days = dayWindow("UTC", Date.now());
    today = days.today;
    const seeds = [
      { taskId: "a1", model: "flux2", costMicros: 1_250_000, settle: "pending" },
      { taskId: "a2", model: "veo-3-1", costMicros: 2_000_000, settle: "success" },
      { taskId: "a3", model: "flux2", costMicros: 500_000, settle: "failed" },
    ] as const;
    try {
      for (const seed of seeds) {
        const reservationId = randomUUID();
        const decision = await store.admitSubmit({
          tenantId: "acme",
          model: seed.model,
          buckets: [{ name: "submit", ratePerSec: 100, burst: 1000 }],
          maxInFlight: null,
          caps: [],
          attribution: {},
          costMicros: seed.costMicros,
          days,
          reservationId,
          taskMaxAgeMs: 3_600_000,
          upstream: "main",
        });
        if (decision.kind !== "admitted") throw new Error(`seed: ${decision.kind}`);
        await store.recordTask({
          tenantId: "acme",
          taskId: seed.taskId,
          model: seed.model,
          costMicros: seed.costMicros,
          day: decision.day,
          reservationId,
          upstream: "main",
          ttlSec: 3600,
          attribution: {},
        });
        if (seed.settle !== "pending") {
          await store.settleTask({ tenantId: "acme", taskId: seed.taskId, state: seed.settle, refund: true });
        }
      }
    } finally {
      await store.close();
    }
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints every tenant's today as JSON", async () => {
    const run = await runCli(["usage", "--config", redisConfig, "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout) as { tenants: unknown[] };
    // The seed used the day of its own moment; a run straddling UTC midnight would see the next day.
    expect(localDay("UTC", Date.now())).toBe(today);
    expect(body.tenants).toEqual([
      {
        tenantId: "acme",
        name: "Acme Corp",
        enabled: true,
        timeZone: "UTC",
        day: today,
        spentUsd: 3.25,
        capUsd: 10,
        remainingUsd: 6.75,
        month: today.slice(0, 7),
        monthSpentUsd: 3.25,
        monthlyCapUsd: 100,
        monthRemainingUsd: 96.75,
        inFlight: 1,
      },
      {
        tenantId: "initech",
        name: "initech",
        enabled: true,
        timeZone: "UTC",
        day: today,
        spentUsd: 0,
        capUsd: null,
        remainingUsd: null,
        month: today.slice(0, 7),
        monthSpentUsd: 0,
        monthlyCapUsd: null,
        monthRemainingUsd: null,
        inFlight: 0,
      },
    ]);
  });

  it("prints an aligned table by default, reading the config from APIXO_GATEWAY_CONFIG", async () => {
    const run = await runCli(["usage"], { APIXO_GATEWAY_CONFIG: redisConfig });
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^TENANT\s+NAME\s+ENABLED\s+DAY\s+SPENT\s+CAP\s+REMAINING\s+MONTH\s+MONTH SPENT\s+MONTHLY CAP\s+MONTH REMAINING\s+IN-FLIGHT$/,
    );
    const month = today.slice(0, 7);
    expect(lines[1]).toMatch(
      new RegExp(
        `^acme\\s+Acme Corp\\s+yes\\s+${today}\\s+\\$3\\.25\\s+\\$10\\.00\\s+\\$6\\.75\\s+${month}\\s+\\$3\\.25\\s+\\$100\\.00\\s+\\$96\\.75\\s+1$`,
      ),
    );
    expect(lines[2]).toMatch(
      /^initech\s+initech\s+yes\s+\S+\s+\$0\.00\s+none\s+-\s+\S+\s+\$0\.00\s+none\s+-\s+0$/,
    );
    // Right-aligned amounts end in the same column on every row.
    const spentEnd = (line: string | undefined) => (line ?? "").indexOf("SPENT") + "SPENT".length;
    expect(lines[1]?.slice(0, spentEnd(lines[0])).endsWith("$3.25")).toBe(true);
  });

  it("prints one tenant's days by model with --tenant and --days", async () => {
    const json = await runCli(["usage", "-c", redisConfig, "-t", "acme", "-d", "3", "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      tenantId: "acme",
      timeZone: "UTC",
      days: [
        { day: addDays(today, -2), spentUsd: 0, refundedUsd: 0, byModel: {} },
        { day: addDays(today, -1), spentUsd: 0, refundedUsd: 0, byModel: {} },
        { day: today, spentUsd: 3.25, refundedUsd: 0.5, byModel: { flux2: 1.25, "veo-3-1": 2 } },
      ],
      totalSpentUsd: 3.25,
      totalRefundedUsd: 0.5,
    });
    const table = await runCli(["usage", "-c", redisConfig, "--tenant", "acme"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("Tenant acme (time zone UTC), last 7 day(s)");
    expect(table.stdout).toMatch(
      new RegExp(`${today}\\s+\\$3\\.25\\s+\\$0\\.50\\s+flux2 \\$1\\.25, veo-3-1 \\$2\\.00`),
    );
    expect(table.stdout).toMatch(/TOTAL\s+\$3\.25\s+\$0\.50/);
  });

  it("exits 1 for an unknown tenant and for days out of range", async () => {
    const unknown = await runCli(["usage", "-c", redisConfig, "-t", "nobody"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no tenant 'nobody'");
    expect(unknown.stderr).toContain("known: acme, initech");
    const days = await runCli(["usage", "-c", redisConfig, "-t", "acme", "-d", "91"]);
    expect(days.code).not.toBe(0);
    expect(days.stderr).toContain("from 1 to 90");
  });

  it("exits 1 for a memory store: that store lives inside the gateway process", async () => {
    const run = await runCli(["usage", "--config", join(dir, "memory.yaml"), "--json"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("memory store lives inside the running gateway process");
    expect(run.stderr).toContain("/admin/tenants");
  });

  it("exits 1 with a message when Redis cannot be reached", async () => {
    const config = join(dir, "down.yaml");
    await writeFile(config, configYaml("  kind: redis\n  redisUrl: redis://:s3cret@127.0.0.1:1"));
    const run = await runCli(["usage", "--config", config]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("cannot read the Redis limit store");
    expect(run.stderr).not.toContain("s3cret");
  });

  it("exits 1 without a config", async () => {
    const run = await runCli(["usage"], { APIXO_GATEWAY_CONFIG: "" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("--config");
  });
});

/** A user id a client may send (visible ASCII, CSV's delimiters among them). */
const OBRIEN = 'o\'brien,"ops"';
const ADMIN_TOKEN = "admin-token-usage-cli-0123456789";
const PRICE = 0.03; // nano-banana's default estimate (PRICE_MICROS in moneyHarness)

describe("apixo-gateway usage --by, after attributed submits through the gateway", () => {
  let harness: Harness;
  let dir: string;
  let config: string;
  let adminEnv: Record<string, string>;
  let adminUrl: string;
  let day: string;
  /** `usage -t acme ...` on the Redis store, and the same through the gateway's admin API. */
  const fromRedis = (...args: string[]) => runCli(["usage", "-c", config, "-t", "acme", ...args]);
  const fromAdmin = (...args: string[]) =>
    runCli(["usage", "--admin-url", adminUrl, "-t", "acme", ...args], adminEnv);

  async function submitAs(headers: Record<string, string>, prompt = "a lighthouse at dawn"): Promise<string> {
    const res = await fetch(`${harness.url}/api/v1/generateTask/nano-banana`, {
      method: "POST",
      headers: { ...harness.auth("acme"), "content-type": "application/json", ...headers },
      body: JSON.stringify({ input: { prompt } }),
    });
    const body = (await res.json()) as { data?: { taskId?: string } };
    if (res.status !== 200 || body.data?.taskId === undefined) throw new Error(`submit: ${res.status}`);
    return body.data.taskId;
  }

  /** Polls until the gateway has seen the task fail, which is when it refunds the charge. */
  async function pollUntilFailed(taskId: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${harness.url}/api/v1/statusTask/nano-banana?taskId=${taskId}`, {
        headers: harness.auth("acme"),
      });
      const body = (await res.json()) as { data?: { state?: string } };
      if (body.data?.state === "failed") return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`task ${taskId} did not fail`);
  }

  beforeAll(async () => {
    harness = await startHarness({
      redisUrl: inject("redisUrl"),
      tenants: [{ id: "acme" }],
      config: { admin: { token: ADMIN_TOKEN } },
    });
    day = localDay("UTC", Date.now());
    await submitAs({ "X-Gateway-User": "alice", "X-Gateway-Feature": "search" });
    const failing = await submitAs(
      { "X-Gateway-User": "alice", "X-Gateway-Feature": "chat" },
      "sim:violation",
    );
    await pollUntilFailed(failing);
    await submitAs({ "X-Gateway-User": OBRIEN });
    await submitAs({ "X-Gateway-Feature": "search" });
    await submitAs({});

    // The CLI reads the same Redis keys the gateway wrote: same URL, same prefix, same tenant.
    dir = await mkdtemp(join(tmpdir(), "apixo-usage-by-"));
    config = join(dir, "gateway.yaml");
    const store = harness.config.store;
    if (store.kind !== "redis") throw new Error("the harness runs on Redis here");
    await writeFile(
      config,
      configYaml(`  kind: redis\n  redisUrl: ${inject("redisUrl")}\n  keyPrefix: ${store.keyPrefix}`),
    );
    adminUrl = new URL(harness.gateway.metricsUrl).origin;
    adminEnv = { APIXO_GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN };
  });

  afterAll(async () => {
    await harness.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes CSV that reads back to every user exactly, the refunded task counted, and the unattributed rest", async () => {
    const run = await fromRedis("--by", "user", "--day", day, "--format", "csv");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(parseCsv(run.stdout.trimEnd())).toEqual([
      ["tenant", "period", "by", "name", "spent_usd", "tasks"],
      // Equal spend: by name.
      ["acme", day, "user", "alice", String(PRICE), "2"],
      ["acme", day, "user", OBRIEN, String(PRICE), "1"],
      ["acme", day, "user", "", String(2 * PRICE), ""],
    ]);
    // The same document from the running gateway's admin API.
    const viaAdmin = await fromAdmin("--by", "user", "--day", day, "--format", "csv");
    expect(viaAdmin.code).toBe(0);
    expect(viaAdmin.stdout).toBe(run.stdout);
  });

  it("prints the admin API's JSON for this month by feature, from Redis and from the admin API alike", async () => {
    const direct = await fromRedis("--by", "feature", "--month", "--json");
    expect(direct.code).toBe(0);
    const expected = {
      tenantId: "acme",
      timeZone: "UTC",
      period: day.slice(0, 7),
      periodKind: "month",
      spentUsd: 4 * PRICE,
      byFeature: {
        rows: [
          { name: "search", spentUsd: 2 * PRICE, tasks: 2 },
          { name: "chat", spentUsd: 0, tasks: 1 },
        ],
        unattributedUsd: 2 * PRICE,
      },
    };
    expect(JSON.parse(direct.stdout)).toEqual(expected);
    const viaAdmin = await fromAdmin("--by", "feature", "--format", "json");
    expect(viaAdmin.code).toBe(0);
    expect(JSON.parse(viaAdmin.stdout)).toEqual(expected);
  });

  it("prints a table of users with the unattributed spend in its summary line", async () => {
    const run = await fromAdmin("--by", "user", "--day");
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`Tenant acme (time zone UTC), day ${day} by user`);
    expect(lines[1]).toMatch(/^USER\s+SPENT\s+TASKS$/);
    expect(lines.slice(2, 4).map((l) => l.split(/\s{2,}/))).toEqual([
      ["alice", "$0.03", "2"],
      [OBRIEN, "$0.03", "1"],
    ]);
    expect(lines[4]).toBe("spent $0.12: $0.06 by 2 user(s), $0.06 unattributed (no X-Gateway-User)");
  });

  it("exits 1 for --by without --tenant and for a month that is not one", async () => {
    const noTenant = await runCli(["usage", "-c", config, "--by", "user"]);
    expect(noTenant.code).toBe(1);
    expect(noTenant.stderr).toContain("--by needs --tenant");
    const badMonth = await fromRedis("--by", "user", "--month", "2026-13");
    expect(badMonth.code).not.toBe(0);
    expect(badMonth.stderr).toContain("must be a calendar month, YYYY-MM");
  });
});
