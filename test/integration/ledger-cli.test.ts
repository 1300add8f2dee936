import { createHash, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { LedgerCheckView, ReservationView } from "../../src/ledger/operations.js";
import { addDays, dayWindow } from "../../src/limits/days.js";
import { RedisStore } from "../../src/limits/redis.js";
import { tenantKeys } from "../../src/limits/keys.js";
import { createRedisClient, waitForRedisReady } from "../../src/limits/redisClient.js";
import type { SubmitRequest } from "../../src/limits/store.js";
import { runCli } from "../helpers/cli.js";
import {
  ONE_SLOT_ACCOUNT,
  seedOpen,
  seedReleased,
  seedTask,
  seedUnknown,
  sleep,
  spendToday,
  submitOf,
} from "../helpers/ledgerSeed.js";

const hash = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;

/** acme: a clean ledger. globex: an open reservation (an orphan once old enough) and an unknown outcome. */
function configYaml(store: string): string {
  return `
upstream:
  keys:
    - alias: main
      key: sk-upstream-test
store:
${store}
tenants:
  - id: acme
    keys: [{ hash: "${hash("acme-key")}" }]
    upstreamKey: main
  - id: globex
    keys: [{ hash: "${hash("globex-key")}" }]
    upstreamKey: main
`;
}

interface CheckOutput {
  readonly ok: boolean;
  readonly orphanAfterSeconds: number;
  readonly checks: readonly LedgerCheckView[];
}

describe("apixo-gateway ledger", () => {
  const prefix = `test-ledger-cli-${randomUUID()}`;
  let dir: string;
  let config: string;
  let store: RedisStore;
  let redis: ReturnType<typeof createRedisClient>;
  let today: string;
  let open: SubmitRequest;
  let unknown: SubmitRequest;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "apixo-ledger-"));
    config = join(dir, "redis.yaml");
    await writeFile(
      config,
      configYaml(
        `  kind: redis\n  redisUrl: ${inject("redisUrl")}\n  keyPrefix: ${prefix}\n  commandTimeoutMs: 2000`,
      ),
    );
    redis = createRedisClient(inject("redisUrl"), { commandTimeoutMs: 2000 });
    await waitForRedisReady(redis, 5000);
    store = new RedisStore({ redis, prefix, accountOf: () => "main" });
    today = dayWindow("UTC", Date.now()).today;

    await seedTask(store, submitOf("acme", { costMicros: 1_250_000 }));
    await seedTask(store, submitOf("acme", { costMicros: 500_000 }), "failed");
    await seedReleased(store, submitOf("acme", { costMicros: 70_000 }));
    open = await seedOpen(store, submitOf("globex", { costMicros: 20_000 }));
    unknown = await seedUnknown(
      store,
      submitOf("globex", {
        costMicros: 400_000,
        model: "veo-3-1",
        account: ONE_SLOT_ACCOUNT,
        idempotency: { key: "client-retry-1", ttlSec: 600 },
      }),
    );
  });

  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("check: a clean ledger exits 0 and prints ok with its figures for yesterday and today", async () => {
    // The seed used the day of its own moment; a run straddling UTC midnight would see the next day.
    expect(dayWindow("UTC", Date.now()).today).toBe(today);
    const run = await runCli(["ledger", "check", "--config", config, "--tenant", "acme"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split("\n")).toEqual([
      `acme ${addDays(today, -1)}: ok`,
      "  spent $0.00 = charged $0.00 - refunded $0.00 + unknown $0.00 + open $0.00; 0 tasks, 1 in flight, 0 unknown outcomes",
      `acme ${today}: ok`,
      "  spent $1.25 = charged $1.75 - refunded $0.50 + unknown $0.00 + open $0.00; 2 tasks, 1 in flight, 0 unknown outcomes",
      "2 tenant-days checked: 2 ok, 0 with problems",
    ]);
  });

  it("check: an open reservation past the orphan age exits 1 and is named; the config's age is the default", async () => {
    await sleep(50);
    const byDefault = await runCli(["ledger", "check", "-c", config, "-t", "globex", "--day", today]);
    expect(byDefault.code).toBe(0);

    const json = await runCli([
      "ledger",
      "check",
      "-c",
      config,
      "--day",
      today,
      "--orphan-after-seconds",
      "0.01",
      "--json",
    ]);
    expect(json.code).toBe(1);
    const body = JSON.parse(json.stdout) as CheckOutput;
    expect(body.ok).toBe(false);
    expect(body.orphanAfterSeconds).toBe(0.01);
    expect(body.checks.map((c) => [c.tenantId, c.day, c.ok])).toEqual([
      ["acme", today, true],
      ["globex", today, false],
    ]);
    expect(body.checks[1]?.problems).toEqual([expect.stringContaining(`reservation ${open.reservationId}`)]);
    expect(body.checks[1]?.figures).toMatchObject({ spentUsd: 0.42, unknownUsd: 0.4, openUsd: 0.02 });

    const text = await runCli(["ledger", "check", "-c", config, "--orphan-after-seconds", "0.01"]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`globex ${today}: 1 problem\n  - reservation ${open.reservationId}`);
    expect(text.stdout).toContain(`acme ${today}: ok`);
  });

  it("reservations --json lists exactly the open and unknown-outcome reservations", async () => {
    const run = await runCli(["ledger", "reservations", "-c", config, "--json"]);
    expect(run.code).toBe(0);
    const { reservations } = JSON.parse(run.stdout) as { reservations: ReservationView[] };
    expect(reservations.map((r) => r.reservationId).sort()).toEqual(
      [open.reservationId, unknown.reservationId].sort(),
    );
    const view = reservations.find((r) => r.reservationId === unknown.reservationId);
    // Admitted moments ago, by the store's clock.
    expect(Date.now() - Date.parse(view?.admittedAt ?? "")).toBeLessThan(60_000);
    expect(view?.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(view).toEqual({
      reservationId: unknown.reservationId,
      tenantId: "globex",
      day: today,
      model: "veo-3-1",
      costUsd: 0.4,
      upstream: "main",
      state: "unknown",
      reason: "timeout",
      admittedAt: view?.admittedAt,
      ageSeconds: view?.ageSeconds,
    });

    const table = await runCli(["ledger", "reservations", "-c", config, "--tenant", "globex"]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^RESERVATION\s+TENANT\s+DAY\s+MODEL\s+COST\s+STATE\s+REASON\s+AGE$/);
    expect(table.stdout).toMatch(
      new RegExp(
        `${unknown.reservationId}\\s+globex\\s+${today}\\s+veo-3-1\\s+\\$0\\.40\\s+unknown\\s+timeout\\s+\\d+ s`,
      ),
    );
    expect(lines).toHaveLength(3);
    const none = await runCli(["ledger", "reservations", "-c", config, "--tenant", "acme"]);
    expect(none.stdout).toBe("no open or unknown-outcome reservations\n");
  });

  it("release gives an unknown outcome's charge, slots and Idempotency-Key back once; a second release exits 1", async () => {
    const before = await spendToday(store, "globex");
    const idemKey = tenantKeys(prefix, "globex", "main").idem("client-retry-1");
    expect(await redis.exists(idemKey)).toBe(1);
    // The unknown outcome holds the account's only slot and its client's Idempotency-Key.
    expect((await store.admitSubmit(submitOf("globex", { account: ONE_SLOT_ACCOUNT }))).kind).toBe(
      "account_limited",
    );

    const run = await runCli([
      "ledger",
      "release",
      "-c",
      config,
      "--tenant",
      "globex",
      unknown.reservationId,
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `released reservation ${unknown.reservationId} of tenant globex (veo-3-1, ${today}, unknown outcome: timeout)`,
    );
    expect(run.stdout).toContain(`$0.40 off the spend of ${today}`);
    expect(run.stdout).toContain("in-flight slot of upstream account 'main'");
    expect(await spendToday(store, "globex")).toBe(before - 400_000);
    expect((await store.reservations("globex")).map((r) => r.reservationId)).toEqual([open.reservationId]);
    expect(await redis.exists(idemKey)).toBe(0);
    const retry = submitOf("globex", {
      account: ONE_SLOT_ACCOUNT,
      idempotency: { key: "client-retry-1", ttlSec: 600 },
    });
    expect((await store.admitSubmit(retry)).kind).toBe("admitted");
    await store.releaseReservation({ tenantId: "globex", reservationId: retry.reservationId, days: [today] });
    const after = await spendToday(store, "globex");

    const again = await runCli(["ledger", "release", "-c", config, "-t", "globex", unknown.reservationId]);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr).toContain(`holds no open or unknown-outcome reservation '${unknown.reservationId}'`);
    expect(await spendToday(store, "globex")).toBe(after);
    expect((await store.reservations("globex")).map((r) => r.reservationId)).toEqual([open.reservationId]);
  });

  it("exits 2 when it cannot run: unknown tenant, bad day, memory store, no config", async () => {
    const tenant = await runCli(["ledger", "check", "-c", config, "-t", "nobody"]);
    expect(tenant.code).toBe(2);
    expect(tenant.stderr).toContain("no tenant 'nobody' in the configuration (known: acme, globex)");
    const day = await runCli(["ledger", "check", "-c", config, "--day", "2026-02-30"]);
    expect(day.code).toBe(2);
    expect(day.stderr).toContain("YYYY-MM-DD");
    const missing = await runCli(["ledger", "release", "-c", config, unknown.reservationId]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--tenant");
    const memory = join(dir, "memory.yaml");
    await writeFile(memory, configYaml("  kind: memory"));
    const inProcess = await runCli(["ledger", "reservations", "-c", memory]);
    expect(inProcess.code).toBe(2);
    expect(inProcess.stderr).toContain("/admin/tenants/{id}/reservations");
    const none = await runCli(["ledger", "check"], { APIXO_GATEWAY_CONFIG: "" });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("--config");
  });

  it("exits 2 without repeating the Redis URL when the store cannot be reached", async () => {
    const down = join(dir, "down.yaml");
    await writeFile(down, configYaml("  kind: redis\n  redisUrl: redis://:s3cret@127.0.0.1:1"));
    const run = await runCli(["ledger", "check", "-c", down]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("cannot use the Redis limit store");
    expect(run.stderr).not.toContain("s3cret");
  });
});
