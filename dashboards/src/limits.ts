import { RATE, TENANT, query, type DashboardSpec } from "./common.js";

const rejections = `apixo_gateway_rejections_total{${TENANT}}`;

export const limits: DashboardSpec = {
  uid: "apixo-gateway-limits",
  title: "APIXO gateway / Limits",
  description:
    "Requests the gateway refused, the health of the limit store (Redis) that decides, and the ledger journal " +
    "that keeps writes the store could not take.",
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
            "model_not_allowed (403), invalid_request (400), unauthenticated (401), overloaded (503: load shed, " +
            "nothing reserved; see the panel below). A burst of unauthenticated after " +
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
        {
          kind: "timeseries",
          title: "APIXO account limits hit/s by upstream key and reason",
          width: 24,
          description:
            "Requests refused because an APIXO account (upstream key) reached its own rate or concurrency limit, " +
            "shared by every tenant on the key. Sustained, it fires ApixoGatewayAccountLimited: spread tenants " +
            "over more upstream keys, lower the tenants' own limits so they stay under the account's, or ask APIXO " +
            "for a higher account limit.",
          unit: "short",
          queries: [
            query(
              `sum by (upstream, reason) (rate(apixo_gateway_account_limited_total[${RATE}]))`,
              "{{upstream}} {{reason}}",
            ),
          ],
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
            "Failed limit-store (Redis) calls. While Redis is unreachable, with store.failurePolicy fail-closed " +
            "governed requests get 503 LIMITS_UNAVAILABLE; with fail-open submits pass ungoverned and their ledger " +
            "writes wait in the journal (Ledger journal depth, below). Check Redis: `redis-cli -u $REDIS_URL ping`, " +
            "its memory (maxmemory), network between gateway and Redis, and the gateway's /readyz.",
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
            "directly to gateway overhead, and admissions queue up until the gateway sheds load (503 OVERLOADED). " +
            "A call fails only when Redis sends nothing at all for store.commandTimeoutMs (default 500 ms), not " +
            "when it is merely slow. Check Redis CPU (`INFO cpu`), slow log (`SLOWLOG GET`), AOF fsync stalls and " +
            "network latency.",
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
    {
      title: "Ledger journal and load shedding",
      panels: [
        {
          kind: "timeseries",
          title: "Ledger journal depth by instance",
          description:
            "Ledger writes (accepted tasks, settlements, releases) waiting in each process's write-behind journal " +
            "for the limit store to take them. Normally 0; above 0 while Redis is down or just back. While it is " +
            "above 0 those tasks are not pollable or counted against caps yet, and without store.journal.path a " +
            "restart of that instance loses them: fix Redis, do not restart it. Runbook " +
            "ApixoGatewayLedgerJournalNotDraining.",
          unit: "short",
          width: 8,
          min: 0,
          queries: [query("max by (instance) (apixo_gateway_ledger_journal_depth)", "{{instance}}")],
          thresholds: [[1, "red"]],
        },
        {
          kind: "timeseries",
          title: "Ledger writes dropped by instance",
          description:
            "Ledger writes lost for good: the journal was full (store.journal.maxEntries) or the store refused a " +
            "write as invalid. Anything above 0 is money the ledger no longer knows about (a charge not recorded, " +
            "a refund or release not applied): reconcile the affected tenants, see runbook " +
            "ApixoGatewayLedgerWritesDropped.",
          unit: "short",
          width: 8,
          min: 0,
          queries: [
            query(
              `sum by (instance) (increase(apixo_gateway_ledger_journal_dropped_total[${RATE}]))`,
              "{{instance}}",
            ),
          ],
          thresholds: [[1, "red"]],
        },
        {
          kind: "timeseries",
          title: "Shed requests/s (503 OVERLOADED) by instance",
          description:
            "Requests an instance refused before reserving anything because more than store.maxQueuedCalls " +
            "admissions were already waiting on the store. Nothing is charged for them; clients get Retry-After. " +
            "Sustained shedding means a slow store (latency above) or more traffic than the instances can admit: " +
            "add replicas. Runbook ApixoGatewayLoadShedding.",
          unit: "reqps",
          width: 8,
          min: 0,
          queries: [
            // The series appears with the first shed request: every scraped instance shows 0 until then.
            query(
              `sum by (instance) (rate(apixo_gateway_rejections_total{${TENANT}, reason="overloaded"}[${RATE}])) ` +
                `or 0 * sum by (instance) (up{job="apixo-gateway"})`,
              "{{instance}}",
            ),
          ],
        },
      ],
    },
  ],
};
