import { RATE, TENANT, query, type DashboardSpec } from "./common.js";

const rejections = `apixo_gateway_rejections_total{${TENANT}}`;

export const limits: DashboardSpec = {
  uid: "apixo-gateway-limits",
  title: "APIXO gateway / Limits",
  description: "Requests the gateway refused, and the health of the limit store (Redis) that decides.",
  tags: ["apixo-gateway"],
  rows: [
    {
      title: "Rejections",
      panels: [
        {
          kind: "timeseries",
          title: "Rejections/s by reason",
          description:
            "Requests refused by the gateway: rate_limited / concurrency_limited (429), spend_cap (402), " +
            "model_not_allowed (403), invalid_request (400), unauthenticated (401). A burst of unauthenticated after " +
            "a key rotation means a client still uses the old key; rate_limited growing means a tenant needs a " +
            "bigger bucket or its client ignores Retry-After.",
          unit: "short",
          stacked: true,
          queries: [query(`sum by (reason) (rate(${rejections}[${RATE}]))`, "{{reason}}")],
        },
        {
          kind: "timeseries",
          title: "Rejections/s by tenant",
          description:
            "The same rejections by tenant. One tenant dominating is that tenant's client misbehaving or its limits " +
            "being too tight for its real load: look at its reasons (pick it in the tenant variable) before " +
            "changing limits.",
          unit: "short",
          stacked: true,
          queries: [query(`sum by (tenant) (rate(${rejections}[${RATE}]))`, "{{tenant}}")],
        },
        {
          kind: "timeseries",
          title: "Rate-limit hits as a share of requests, by tenant",
          description:
            "429s from the gateway's buckets and in-flight cap divided by all requests of the tenant. Above 1 % " +
            "the ApixoGatewayRateLimitHitsHigh alert fires: raise the tenant's limits.submit/status buckets if the " +
            "load is legitimate, or have its client honour Retry-After and poll with backoff.",
          unit: "percentunit",
          min: 0,
          queries: [
            query(
              `sum by (tenant) (rate(apixo_gateway_rejections_total{${TENANT}, reason=~"rate_limited|concurrency_limited"}[${RATE}])) / sum by (tenant) (rate(apixo_gateway_requests_total{${TENANT}}[${RATE}]))`,
              "{{tenant}}",
            ),
          ],
          thresholds: [[0.01, "red"]],
        },
      ],
    },
    {
      title: "Limit store",
      panels: [
        {
          kind: "timeseries",
          title: "Store errors/s by operation",
          description:
            "Failed limit-store (Redis) calls. With store.failurePolicy fail-closed every governed request gets 503 " +
            "LIMITS_UNAVAILABLE while this is above zero. Check Redis: `redis-cli -u $REDIS_URL ping`, its memory " +
            "(maxmemory), network between gateway and Redis, and the gateway's /readyz.",
          unit: "short",
          queries: [
            query(
              "sum by (operation) (rate(apixo_gateway_store_errors_total[$__rate_interval]))",
              "{{operation}}",
            ),
          ],
        },
        {
          kind: "timeseries",
          title: "Store latency p50 / p99 by operation",
          description:
            "Round-trip time of limit-store calls. Every governed request makes one; p99 above a few ms adds " +
            "directly to gateway overhead, and calls slower than store.commandTimeoutMs (default 250 ms) become " +
            "errors. Check Redis CPU (`INFO cpu`), slow log (`SLOWLOG GET`), AOF fsync stalls and network latency.",
          unit: "s",
          queries: [
            query(
              "histogram_quantile(0.5, sum by (le, operation) (rate(apixo_gateway_store_duration_seconds_bucket[$__rate_interval])))",
              "p50 {{operation}}",
            ),
            query(
              "histogram_quantile(0.99, sum by (le, operation) (rate(apixo_gateway_store_duration_seconds_bucket[$__rate_interval])))",
              "p99 {{operation}}",
            ),
          ],
          thresholds: [[0.05, "red"]],
        },
        {
          kind: "timeseries",
          title: "Store calls/s by operation",
          description:
            "Limit-store calls per second. It should follow governed request volume (one call per request plus " +
            "task settlement); far more calls than requests means a retry loop, far fewer means requests skip " +
            "governance: both are bugs worth an issue.",
          unit: "short",
          queries: [
            query(
              "sum by (operation) (rate(apixo_gateway_store_duration_seconds_count[$__rate_interval]))",
              "{{operation}}",
            ),
          ],
        },
      ],
    },
  ],
};
