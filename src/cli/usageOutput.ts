import type {
  DimensionRollup,
  RollupDimension,
  TenantHistory,
  TenantRollup,
  TenantUsageRow,
} from "../admin/usage.js";
import { formatUsd, usdToMicros } from "../apixo/prices.js";

/**
 * What `apixo-gateway usage` prints, in its three formats. JSON is the admin API's own shapes, so a script can
 * switch between `--config` and `--admin-url` without noticing; CSV carries the same figures as plain USD
 * numbers (no `$`, no rounding) for spreadsheets; the table is for people.
 */

export type UsageFormat = "table" | "json" | "csv";

export const USAGE_FORMATS: readonly UsageFormat[] = ["table", "json", "csv"];

/** The three reports of the command; each is the admin API answer of the same question. */
export type UsageView =
  | { readonly kind: "tenants"; readonly tenants: readonly TenantUsageRow[] }
  | { readonly kind: "history"; readonly history: TenantHistory }
  | { readonly kind: "rollup"; readonly rollup: TenantRollup };

function usd(value: number): string {
  return formatUsd(usdToMicros(value));
}

/** Columns padded to their widest cell; numeric columns right-aligned so amounts line up. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  rightAligned: ReadonlySet<number> = new Set(),
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => {
        const width = widths[i] ?? cell.length;
        return rightAligned.has(i) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/**
 * RFC 4180 quoting: a field holding a comma, a double quote or a line break is quoted, its quotes doubled.
 * Written here rather than taken from a CSV library because quoting is all the command needs (it never parses
 * CSV), and these few lines are the whole rule. Lines end in LF, which every RFC 4180 reader accepts.
 */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

type CsvCell = string | number | boolean | null;

/**
 * A text cell a spreadsheet would run as a formula (OWASP "CSV injection": a leading =, +, -, @, tab or CR) gets
 * a leading apostrophe: names come from clients (X-Gateway-User), and opening the file must not run them.
 */
function inert(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/**
 * A CSV document: a header line and one line per row; `null` is an empty field, numbers as JSON writes them,
 * text made inert for spreadsheets.
 */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  const cell = (value: CsvCell) =>
    value === null ? "" : typeof value === "string" ? inert(value) : String(value);
  const line = (cells: readonly CsvCell[]) => cells.map((value) => csvField(cell(value))).join(",");
  return [line(header), ...rows.map(line)].join("\n");
}

export function tenantsTable(rows: readonly TenantUsageRow[]): string {
  const capped = (cap: number | null) => (cap === null ? "none" : usd(cap));
  const left = (remaining: number | null) => (remaining === null ? "-" : usd(remaining));
  return renderTable(
    [
      "TENANT",
      "NAME",
      "ENABLED",
      "DAY",
      "SPENT",
      "CAP",
      "REMAINING",
      "MONTH",
      "MONTH SPENT",
      "MONTHLY CAP",
      "MONTH REMAINING",
      "IN-FLIGHT",
    ],
    rows.map((r) => [
      r.tenantId,
      r.name,
      r.enabled ? "yes" : "no",
      r.day,
      usd(r.spentUsd),
      capped(r.capUsd),
      left(r.remainingUsd),
      r.month,
      usd(r.monthSpentUsd),
      capped(r.monthlyCapUsd),
      left(r.monthRemainingUsd),
      String(r.inFlight),
    ]),
    new Set([4, 5, 6, 8, 9, 10, 11]),
  );
}

function tenantsCsv(rows: readonly TenantUsageRow[]): string {
  return toCsv(
    [
      "tenant",
      "name",
      "enabled",
      "time_zone",
      "day",
      "spent_usd",
      "cap_usd",
      "remaining_usd",
      "month",
      "month_spent_usd",
      "monthly_cap_usd",
      "month_remaining_usd",
      "in_flight",
    ],
    rows.map((r) => [
      r.tenantId,
      r.name,
      r.enabled,
      r.timeZone,
      r.day,
      r.spentUsd,
      r.capUsd,
      r.remainingUsd,
      r.month,
      r.monthSpentUsd,
      r.monthlyCapUsd,
      r.monthRemainingUsd,
      r.inFlight,
    ]),
  );
}

export function historyTable(history: TenantHistory): string {
  const title = `Tenant ${history.tenantId} (time zone ${history.timeZone}), last ${history.days.length} day(s)`;
  const table = renderTable(
    ["DAY", "SPENT", "REFUNDED", "BY MODEL"],
    [
      ...history.days.map((d) => [
        d.day,
        usd(d.spentUsd),
        usd(d.refundedUsd),
        Object.entries(d.byModel)
          .map(([model, value]) => `${model} ${usd(value)}`)
          .join(", "),
      ]),
      ["TOTAL", usd(history.totalSpentUsd), usd(history.totalRefundedUsd), ""],
    ],
    new Set([1, 2]),
  );
  return `${title}\n${table}`;
}

/** One line per day; one `spent_usd:<model>` column per model the days spent on, so a spreadsheet can chart it. */
function historyCsv(history: TenantHistory): string {
  const models = [...new Set(history.days.flatMap((d) => Object.keys(d.byModel)))].sort();
  return toCsv(
    ["tenant", "day", "spent_usd", "refunded_usd", ...models.map((m) => `spent_usd:${m}`)],
    history.days.map((d) => [
      history.tenantId,
      d.day,
      d.spentUsd,
      d.refundedUsd,
      ...models.map((m) => d.byModel[m] ?? 0),
    ]),
  );
}

const HEADER: Readonly<Record<RollupDimension, string>> = {
  user: "X-Gateway-User",
  feature: "X-Gateway-Feature",
};

/** The dimensions a rollup answer holds, in a fixed order. */
function dimensionsOf(rollup: TenantRollup): [RollupDimension, DimensionRollup][] {
  const present: [RollupDimension, DimensionRollup | undefined][] = [
    ["user", rollup.byUser],
    ["feature", rollup.byFeature],
  ];
  return present.flatMap(([by, figures]) => (figures === undefined ? [] : [[by, figures]]));
}

function dimensionTable(rollup: TenantRollup, by: RollupDimension, figures: DimensionRollup): string {
  const title = `Tenant ${rollup.tenantId} (time zone ${rollup.timeZone}), ${rollup.periodKind} ${rollup.period} by ${by}`;
  const attributedUsd = rollup.spentUsd - figures.unattributedUsd;
  // The unattributed share is a sentence, not a row: no row label could be told apart from a client's value.
  const summary =
    `spent ${usd(rollup.spentUsd)}: ${usd(attributedUsd)} by ${figures.rows.length} ${by}(s), ` +
    `${usd(figures.unattributedUsd)} unattributed (no ${HEADER[by]})`;
  if (figures.rows.length === 0) return `${title}\n${summary}`;
  const table = renderTable(
    [by.toUpperCase(), "SPENT", "TASKS"],
    figures.rows.map((r) => [r.name, usd(r.spentUsd), String(r.tasks)]),
    new Set([1, 2]),
  );
  return `${title}\n${table}\n${summary}`;
}

export function rollupTable(rollup: TenantRollup): string {
  return dimensionsOf(rollup)
    .map(([by, figures]) => dimensionTable(rollup, by, figures))
    .join("\n\n");
}

/**
 * One line per user (or feature) and one for the unattributed spend, whose `name` is empty (a header value
 * never is) and whose `tasks` is empty (the store counts tasks only per name). The lines sum to the total.
 */
export function rollupCsv(rollup: TenantRollup): string {
  const rows = dimensionsOf(rollup).flatMap(([by, figures]) => [
    ...figures.rows.map((r) => [rollup.tenantId, rollup.period, by, r.name, r.spentUsd, r.tasks]),
    [rollup.tenantId, rollup.period, by, "", figures.unattributedUsd, null],
  ]);
  return toCsv(["tenant", "period", "by", "name", "spent_usd", "tasks"], rows);
}

function jsonOf(view: UsageView): unknown {
  switch (view.kind) {
    case "tenants":
      return { tenants: view.tenants };
    case "history":
      return view.history;
    case "rollup":
      return view.rollup;
  }
}

/** The report as printed, without the final newline. */
export function renderUsage(view: UsageView, format: UsageFormat): string {
  if (format === "json") return JSON.stringify(jsonOf(view), null, 2);
  switch (view.kind) {
    case "tenants":
      return format === "csv" ? tenantsCsv(view.tenants) : tenantsTable(view.tenants);
    case "history":
      return format === "csv" ? historyCsv(view.history) : historyTable(view.history);
    case "rollup":
      return format === "csv" ? rollupCsv(view.rollup) : rollupTable(view.rollup);
  }
}
