import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { METRIC_PREFIX } from "../../src/telemetry/metrics.js";
import { exportedMetrics } from "../helpers/exportedMetrics.js";

const DOC = join(import.meta.dirname, "..", "..", "docs", "observability.md");

interface DocumentedMetric {
  readonly type: string;
  readonly labels: readonly string[];
}

/** The rows of the metric table in docs/observability.md: | `name` | type | labels | answers |. */
function documentedMetrics(): Map<string, DocumentedMetric> {
  const rows = new Map<string, DocumentedMetric>();
  for (const match of readFileSync(DOC, "utf8").matchAll(/^\| `([a-z_]+)` \| (\w+) \| ([^|]*) \|/gm)) {
    const [, name = "", type = "", labels = ""] = match;
    const list = labels.trim() === "(none)" ? [] : labels.split(",").map((l) => l.trim());
    rows.set(METRIC_PREFIX + name, { type, labels: list });
  }
  return rows;
}

describe("docs/observability.md", () => {
  it("lists every metric the gateway registers, with its type and labels, and no other", () => {
    const fromDoc = [...documentedMetrics()].map(
      ([name, m]) => `${name} ${m.type} (${[...m.labels].sort().join(", ")})`,
    );
    const fromCode = [...exportedMetrics().values()].map(
      (m) => `${m.name} ${m.type} (${[...m.labels].sort().join(", ")})`,
    );
    expect(fromDoc.length).toBeGreaterThan(20);
    expect(fromDoc.sort()).toEqual(fromCode.sort());
  });
});
