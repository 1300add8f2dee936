import { Registry } from "prom-client";
import { systemClock } from "../../src/clock.js";
import { parseConfig } from "../../src/config/load.js";
import { buildSnapshot } from "../../src/tenants/snapshot.js";
import { MemoryStore } from "../../src/limits/memory.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { METRIC_PREFIX, createMetrics } from "../../src/telemetry/metrics.js";

export type MetricKind = "counter" | "gauge" | "histogram" | "summary";

/** One metric the gateway registers: full name, type and label names (without `le`). */
export interface ExportedMetric {
  readonly name: string;
  readonly type: MetricKind;
  readonly labels: readonly string[];
  /** A histogram's finite bucket bounds (`le`), as declared. */
  readonly buckets?: readonly number[];
}

const CONFIG = `
upstream:
  keys:
    - alias: main
      key: sk-exported-metrics
tenants:
  - id: acme
    keys: [{ hash: "sha256:${"0".repeat(64)}" }]
    upstreamKey: main
`;

const KINDS: readonly MetricKind[] = ["counter", "gauge", "histogram", "summary"];

function kindOf(type: unknown): MetricKind {
  const kind = KINDS.find((k) => k === type);
  if (kind === undefined) throw new Error(`prom-client reported an unknown metric type: ${String(type)}`);
  return kind;
}

/**
 * prom-client keeps the label names a metric was declared with on the instance but does not type them;
 * read them defensively, so a prom-client that renames the field fails here loudly rather than silently.
 */
function labelNamesOf(metric: object, name: string): readonly string[] {
  const labelNames: unknown = Reflect.get(metric, "labelNames");
  if (!Array.isArray(labelNames) || !labelNames.every((l): l is string => typeof l === "string")) {
    throw new Error(`cannot read the label names of ${name} from prom-client`);
  }
  return labelNames;
}

/**
 * What the gateway really exports, read from the registry `createMetrics` fills (the same function a
 * running gateway calls), not from a copied list: dashboards, alerts and docs are checked against this.
 * Only the gateway's own metrics (prefix `apixo_gateway_`); process metrics are prom-client's.
 */
export function exportedMetrics(): ReadonlyMap<string, ExportedMetric> {
  const registry = new Registry();
  const snapshot = buildSnapshot(parseConfig(CONFIG, {}), 0);
  createMetrics({
    registry,
    view: () => snapshot.metrics,
    readBudget: (tenantId) => new MemoryStore({ clock: systemClock }).snapshot(tenantId, "2026-01-01"),
    monthElapsed: () => 0.5,
    tenantLabel: true,
    logger: createLogger("silent"),
    defaultMetrics: false,
  });
  const metrics = new Map<string, ExportedMetric>();
  for (const metric of registry.getMetricsAsArray()) {
    if (!metric.name.startsWith(METRIC_PREFIX)) continue;
    const upperBounds: unknown = Reflect.get(metric, "upperBounds");
    metrics.set(metric.name, {
      name: metric.name,
      type: kindOf(metric.type),
      labels: labelNamesOf(metric, metric.name),
      ...(Array.isArray(upperBounds) ? { buckets: upperBounds.filter((b) => typeof b === "number") } : {}),
    });
  }
  return metrics;
}
