import { KNOWN_FAIL_CODES } from "../../src/apixo/models.js";
import type { UpstreamFailure } from "../../src/upstream/upstreamError.js";
import { REJECTION_REASONS, type GatewayEvents, type OperationLabel } from "../../src/telemetry/events.js";
import { exportedMetrics, type ExportedMetric } from "./exportedMetrics.js";
import type { SeriesInfo, SeriesLookup } from "./promqlCheck.js";

/**
 * Every value of a union, as a list the compiler holds to the union: a value missing from the list, or one
 * that is not in the union, fails `npm run typecheck`. So the lists below follow the code that emits them.
 */
function allOf<T extends string>() {
  return <const V extends readonly T[]>(values: V & ([T] extends [V[number]] ? unknown : never)): V => values;
}

type EventOf<K extends keyof GatewayEvents> = Parameters<GatewayEvents[K]>[0];

const OPERATIONS = allOf<OperationLabel>()(["submit", "status", "balance", "callback", "other"]);
// The union is derived from this list (events.ts), so it cannot drift from the code.
const REJECTIONS = REJECTION_REASONS;
const FATES = allOf<EventOf<"reservationFate">["fate"]>()(["charged", "released", "unknown"]);
const STATES = allOf<EventOf<"taskFinished">["state"]>()(["success", "failed", "expired"]);
const CALLBACK_OUTCOMES = allOf<EventOf<"callbackFinished">["outcome"]>()([
  "delivered",
  "retried",
  "failed",
  "rejected",
]);
const ACCOUNT_REASONS = allOf<EventOf<"accountLimited">["reason"]>()(["rate", "concurrency"]);
/** metrics.ts counts a 5xx answer from APIXO as status_5xx next to the exchange failures. */
const UPSTREAM_REASONS = [
  ...allOf<UpstreamFailure>()(["timeout", "connect", "reset", "bad_response"]),
  "status_5xx",
];

/** Label values the gateway emits for its bounded labels (tenant, model, upstream come from the config). */
const VALUES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  apixo_gateway_requests_total: { operation: OPERATIONS },
  apixo_gateway_request_duration_seconds: { operation: OPERATIONS },
  apixo_gateway_upstream_duration_seconds: { operation: OPERATIONS },
  apixo_gateway_overhead_seconds: { operation: OPERATIONS },
  apixo_gateway_upstream_errors_total: { reason: UPSTREAM_REASONS },
  apixo_gateway_tasks_completed_total: { state: STATES },
  apixo_gateway_task_failures_total: { fail_code: [...KNOWN_FAIL_CODES, "other", "none"] },
  apixo_gateway_rejections_total: { reason: REJECTIONS },
  apixo_gateway_reservations_total: { fate: FATES },
  apixo_gateway_callbacks_total: { outcome: CALLBACK_OUTCOMES },
  apixo_gateway_callback_delivery_seconds: { outcome: CALLBACK_OUTCOMES },
  apixo_gateway_status_cache_total: { result: ["hit", "miss"] },
  apixo_gateway_config_reloads_total: { result: ["success", "failure"] },
  apixo_gateway_account_limited_total: { reason: ACCOUNT_REASONS },
};

/** Series Prometheus itself makes, which alerts and dashboards may use next to the gateway's. */
const BUILTIN: Readonly<Record<string, SeriesInfo>> = { up: { labels: [] } };

function seriesOf(metric: ExportedMetric): [string, SeriesInfo][] {
  const values = VALUES[metric.name];
  const info = (labels: readonly string[]): SeriesInfo =>
    values === undefined ? { labels } : { labels, values };
  if (metric.type !== "histogram") return [[metric.name, info(metric.labels)]];
  return [
    [`${metric.name}_bucket`, info([...metric.labels, "le"])],
    [`${metric.name}_count`, info(metric.labels)],
    [`${metric.name}_sum`, info(metric.labels)],
  ];
}

/** Every series name a query may select (histograms as their _bucket, _count and _sum series). */
export function gatewaySeries(): SeriesLookup {
  const series = new Map<string, SeriesInfo>(Object.entries(BUILTIN));
  for (const metric of exportedMetrics().values()) {
    for (const [name, info] of seriesOf(metric)) series.set(name, info);
  }
  return (name) => series.get(name);
}
