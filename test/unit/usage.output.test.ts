import { describe, expect, it } from "vitest";
import type { TenantHistory, TenantRollup, TenantUsageRow } from "../../src/admin/usage.js";
import { usageFormat, usageQuery, type UsageFlags } from "../../src/cli/usage.js";
import { adminPathOf } from "../../src/cli/usageAdmin.js";
import { renderUsage, toCsv } from "../../src/cli/usageOutput.js";
import { parseCsv } from "../helpers/csv.js";

/** Names a client may send in X-Gateway-User (visible ASCII): CSV's own delimiters among them. */
const AWKWARD = ['o\'brien,"ops"', '"', ",", "a,b,c", '""x""', "x=1,y"];

const rollup: TenantRollup = {
  tenantId: "acme",
  timeZone: "Europe/Berlin",
  period: "2026-03",
  periodKind: "month",
  spentUsd: 4.08125,
  byUser: {
    rows: AWKWARD.map((name, i) => ({ name, spentUsd: 0.5, tasks: i + 1 })),
    unattributedUsd: 1.08125,
  },
};

describe("usage --format csv", () => {
  it("quotes names holding commas and quotes so a CSV reader gets every name back exactly", () => {
    const records = parseCsv(renderUsage({ kind: "rollup", rollup }, "csv"));
    expect(records[0]).toEqual(["tenant", "period", "by", "name", "spent_usd", "tasks"]);
    const rows = records.slice(1);
    expect(rows.slice(0, AWKWARD.length)).toEqual(
      AWKWARD.map((name, i) => ["acme", "2026-03", "user", name, "0.5", String(i + 1)]),
    );
    // The unattributed line: no name (a header value never is empty), no task count (not kept per period).
    expect(rows[AWKWARD.length]).toEqual(["acme", "2026-03", "user", "", "1.08125", ""]);
    expect(rows).toHaveLength(AWKWARD.length + 1);
    const sumMicros = rows.reduce((sum, r) => sum + Math.round(Number(r[4]) * 1e6), 0);
    expect(sumMicros).toBe(4_081_250);
  });

  it("writes both dimensions when the rollup holds both, each with its unattributed line", () => {
    const both: TenantRollup = {
      ...rollup,
      byUser: { rows: [{ name: "alice", spentUsd: 1, tasks: 1 }], unattributedUsd: 3.08125 },
      byFeature: { rows: [], unattributedUsd: 4.08125 },
    };
    const rows = parseCsv(renderUsage({ kind: "rollup", rollup: both }, "csv")).slice(1);
    expect(rows.map((r) => [r[2], r[3], r[4]])).toEqual([
      ["user", "alice", "1"],
      ["user", "", "3.08125"],
      ["feature", "", "4.08125"],
    ]);
  });

  it("writes tenant rows with empty fields for no cap", () => {
    const tenants: TenantUsageRow[] = [
      {
        tenantId: "acme",
        name: 'Acme, "the" Corp',
        enabled: true,
        timeZone: "UTC",
        day: "2026-03-10",
        spentUsd: 3.5,
        capUsd: 10,
        remainingUsd: 6.5,
        month: "2026-03",
        monthSpentUsd: 40,
        monthlyCapUsd: null,
        monthRemainingUsd: null,
        inFlight: 2,
      },
    ];
    const [header, row] = parseCsv(renderUsage({ kind: "tenants", tenants }, "csv"));
    expect(Object.fromEntries((header ?? []).map((h, i) => [h, row?.[i]]))).toEqual({
      tenant: "acme",
      name: 'Acme, "the" Corp',
      enabled: "true",
      time_zone: "UTC",
      day: "2026-03-10",
      spent_usd: "3.5",
      cap_usd: "10",
      remaining_usd: "6.5",
      month: "2026-03",
      month_spent_usd: "40",
      monthly_cap_usd: "",
      month_remaining_usd: "",
      in_flight: "2",
    });
  });

  it("writes one line per day with a spend column per model", () => {
    const history: TenantHistory = {
      tenantId: "acme",
      timeZone: "UTC",
      days: [
        { day: "2026-03-09", spentUsd: 0.25, refundedUsd: 0, byModel: { flux2: 0.25 } },
        { day: "2026-03-10", spentUsd: 3.5, refundedUsd: 0.5, byModel: { "veo-3-1": 2, flux2: 1.5 } },
      ],
      totalSpentUsd: 3.75,
      totalRefundedUsd: 0.5,
    };
    expect(parseCsv(renderUsage({ kind: "history", history }, "csv"))).toEqual([
      ["tenant", "day", "spent_usd", "refunded_usd", "spent_usd:flux2", "spent_usd:veo-3-1"],
      ["acme", "2026-03-09", "0.25", "0", "0.25", "0"],
      ["acme", "2026-03-10", "3.5", "0.5", "1.5", "2"],
    ]);
  });

  it("makes a name a spreadsheet would run as a formula inert with a leading apostrophe, and leaves numbers alone", () => {
    const formulas = ["=SUM(A1)", "+1", "-2+3", "@cmd", "\tx"];
    const csv = toCsv(["name", "n"], [...formulas.map((name) => [name, -1.5] as const)]);
    expect(parseCsv(csv).slice(1)).toEqual(formulas.map((name) => [`'${name}`, "-1.5"]));
  });

  it("quotes a field with a line break", () => {
    expect(parseCsv(toCsv(["a", "b"], [["x\ny", 'say "hi"']]))).toEqual([
      ["a", "b"],
      ["x\ny", 'say "hi"'],
    ]);
  });
});

describe("usage --format json and table", () => {
  it("prints the rollup as the admin API answers it", () => {
    expect(JSON.parse(renderUsage({ kind: "rollup", rollup }, "json"))).toEqual(rollup);
  });

  it("prints a rollup table with the unattributed share in its summary line, not as a row", () => {
    const small: TenantRollup = {
      ...rollup,
      spentUsd: 3.5,
      byUser: {
        rows: [
          { name: "alice", spentUsd: 2, tasks: 12 },
          { name: 'o\'brien,"ops"', spentUsd: 0.08125, tasks: 1 },
        ],
        unattributedUsd: 1.41875,
      },
    };
    const lines = renderUsage({ kind: "rollup", rollup: small }, "table").split("\n");
    expect(lines).toEqual([
      "Tenant acme (time zone Europe/Berlin), month 2026-03 by user",
      "USER              SPENT  TASKS",
      "alice             $2.00     12",
      'o\'brien,"ops"  $0.08125      1',
      "spent $3.50: $2.08125 by 2 user(s), $1.41875 unattributed (no X-Gateway-User)",
    ]);
  });

  it("says so when no charge of the period named a feature", () => {
    const none: TenantRollup = {
      tenantId: "acme",
      timeZone: "Europe/Berlin",
      period: "2026-03",
      periodKind: "month",
      spentUsd: 4.08125,
      byFeature: { rows: [], unattributedUsd: 4.08125 },
    };
    expect(renderUsage({ kind: "rollup", rollup: none }, "table")).toBe(
      [
        "Tenant acme (time zone Europe/Berlin), month 2026-03 by feature",
        "spent $4.08125: $0.00 by 0 feature(s), $4.08125 unattributed (no X-Gateway-Feature)",
      ].join("\n"),
    );
  });
});

describe("usage flags", () => {
  const flags = (over: Partial<UsageFlags>): UsageFlags => ({ days: 7, format: "table", ...over });

  it("choose every tenant, one tenant's days, or one tenant's spenders of a day or month", () => {
    expect(usageQuery(flags({}))).toEqual({ kind: "tenants" });
    expect(usageQuery(flags({ tenant: "acme", days: 3 }))).toEqual({
      kind: "history",
      tenant: "acme",
      days: 3,
    });
    expect(usageQuery(flags({ tenant: "acme", by: "user" }))).toEqual({
      kind: "rollup",
      tenant: "acme",
      by: "user",
      period: { kind: "month" },
    });
    expect(usageQuery(flags({ tenant: "acme", by: "feature", day: true }))).toMatchObject({
      period: { kind: "day" },
    });
    expect(usageQuery(flags({ tenant: "acme", by: "user", day: "2026-03-10" }))).toMatchObject({
      period: { kind: "day", name: "2026-03-10" },
    });
    expect(usageQuery(flags({ tenant: "acme", by: "user", month: "2026-02" }))).toMatchObject({
      period: { kind: "month", name: "2026-02" },
    });
  });

  it("refuse --by without --tenant and a period without --by", () => {
    expect(usageQuery(flags({ by: "user" }))).toBe("--by needs --tenant <id>");
    expect(usageQuery(flags({ tenant: "acme", month: "2026-02" }))).toMatch(/--by/);
    expect(usageQuery(flags({ day: true }))).toMatch(/--by/);
  });

  it("keep --json as --format json", () => {
    expect(usageFormat({ format: "table", json: true })).toBe("json");
    expect(usageFormat({ format: "csv" })).toBe("csv");
  });

  it("ask the admin API the same question", () => {
    expect(adminPathOf({ kind: "tenants" })).toBe("/admin/tenants");
    expect(adminPathOf({ kind: "history", tenant: "a b", days: 3 })).toBe(
      "/admin/tenants/a%20b/usage?days=3",
    );
    expect(adminPathOf({ kind: "rollup", tenant: "acme", by: "user", period: { kind: "month" } })).toBe(
      "/admin/tenants/acme/rollup?by=user&period=month",
    );
    expect(
      adminPathOf({
        kind: "rollup",
        tenant: "acme",
        by: "feature",
        period: { kind: "day", name: "2026-03-10" },
      }),
    ).toBe("/admin/tenants/acme/rollup?by=feature&day=2026-03-10");
  });
});
