import { MODEL, RATE, TENANT, query, type DashboardSpec } from "./common.js";

const completed = (state: string): string =>
  `sum by (model) (increase(apixo_gateway_tasks_completed_total{${TENANT}, ${MODEL}${state}}[${RATE}]))`;

export const tasks: DashboardSpec = {
  uid: "apixo-gateway-tasks",
  title: "APIXO gateway / Tasks",
  description:
    "Generation tasks: how many are submitted, how they end, why they fail and how long they take.",
  tags: ["apixo-gateway"],
  rows: [
    {
      title: "Submissions and outcomes",
      panels: [
        {
          kind: "timeseries",
          title: "Task submissions/s by model",
          description:
            "Tasks APIXO accepted through the gateway, per second, by model. A drop with steady submit requests " +
            "means submits are refused (rejections on the Limits dashboard, 402/5xx on Overview); a spike from one " +
            "tenant is worth a look before it becomes a cost spike.",
          unit: "short",
          queries: [
            query(
              `sum by (model) (rate(apixo_gateway_tasks_submitted_total{${TENANT}, ${MODEL}}[${RATE}]))`,
              "{{model}}",
            ),
          ],
        },
        {
          kind: "timeseries",
          title: "Success and failure ratio by model",
          description:
            "Share of finished tasks that succeeded, and that failed or expired, by model. A model whose success " +
            "ratio falls while others hold is an APIXO-side problem with that model: check the fail codes, tell " +
            "tenants, consider disallowing it (allowedModels) until it recovers.",
          unit: "percentunit",
          min: 0,
          max: 1,
          queries: [
            query(`${completed(', state="success"')} / ${completed("")}`, "success {{model}}"),
            query(`${completed(', state=~"failed|expired"')} / ${completed("")}`, "failure {{model}}"),
          ],
        },
        {
          kind: "timeseries",
          title: "Fail codes over time",
          description:
            "Failed tasks per second by APIXO failCode. CONTENT_VIOLATION / NSFW codes come from tenants' prompts " +
            "(tell the tenant; do not retry); PROCESSING_TIMEOUT, GENERATION_FAILED and MODEL_UNAVAILABLE are APIXO " +
            "(retry later, check APIXO status); INSUFFICIENT_CREDITS means the APIXO balance is empty.",
          unit: "short",
          stacked: true,
          queries: [
            query(
              `sum by (fail_code) (rate(apixo_gateway_task_failures_total{${TENANT}, ${MODEL}}[${RATE}]))`,
              "{{fail_code}}",
            ),
          ],
        },
        {
          kind: "timeseries",
          title: "Tasks finished/s by state",
          description:
            "Tasks seen to end, by state. `expired` means the gateway stopped waiting for a task (nobody polled it " +
            "within governance.taskMaxAgeMinutes): its in-flight slot was freed without knowing the outcome; many " +
            "expiries mean clients submit and never poll.",
          unit: "short",
          queries: [
            query(
              `sum by (state) (rate(apixo_gateway_tasks_completed_total{${TENANT}, ${MODEL}}[${RATE}]))`,
              "{{state}}",
            ),
          ],
        },
      ],
    },
    {
      title: "Duration and concurrency",
      panels: [
        {
          kind: "timeseries",
          title: "Task duration p50 / p95 by model",
          description:
            "Processing time APIXO reports (costTime) for finished tasks, by model. Image models take seconds, video " +
            "minutes; a model that becomes much slower than usual is APIXO under load: clients should poll with " +
            "backoff, and in-flight tasks (next panel) will pile up.",
          unit: "s",
          queries: [
            query(
              `histogram_quantile(0.5, sum by (le, model) (rate(apixo_gateway_task_duration_seconds_bucket{${MODEL}}[${RATE}])))`,
              "p50 {{model}}",
            ),
            query(
              `histogram_quantile(0.95, sum by (le, model) (rate(apixo_gateway_task_duration_seconds_bucket{${MODEL}}[${RATE}])))`,
              "p95 {{model}}",
            ),
          ],
        },
        {
          kind: "timeseries",
          title: "Tasks in flight by tenant",
          description:
            "Tasks submitted and not yet seen to finish, per tenant. When it reaches the tenant's limits.maxInFlight " +
            "its submits get 429 CONCURRENCY_LIMITED. A line that only grows means the tenant never polls its tasks " +
            "(they free only when seen to end or when they expire).",
          unit: "short",
          // Read from the shared store by every replica: max, not sum, or each replica counts it again.
          queries: [query(`max by (tenant) (apixo_gateway_tasks_in_flight{${TENANT}})`, "{{tenant}}")],
        },
      ],
    },
    {
      title: "Callbacks",
      panels: [
        {
          kind: "timeseries",
          title: "Callbacks/s by outcome",
          description:
            "Task callbacks the gateway relays to tenants' URLs: delivered, retried (the tenant's endpoint failed, " +
            "another try follows), failed (given up: the tenant never hears of the task's end) and rejected (the " +
            "URL was refused before delivery). Failed deliveries page as ApixoGatewayCallbackDeliveriesFailing: " +
            "check the tenant's endpoint (TLS, 5xx, timeouts) with its owner; docs/callbacks.md.",
          unit: "short",
          stacked: true,
          queries: [
            query(
              `sum by (outcome) (rate(apixo_gateway_callbacks_total{${TENANT}}[${RATE}]))`,
              "{{outcome}}",
            ),
          ],
        },
        {
          kind: "timeseries",
          title: "Callback delivery time p50 / p95 by outcome",
          description:
            "How long one delivery to the tenant's URL takes, by outcome. A p95 near the delivery timeout means " +
            "the tenant's endpoint is slow and deliveries will start to be retried or fail: ask its owner to " +
            "answer at once and process the callback asynchronously.",
          unit: "s",
          queries: [0.5, 0.95].map((q) =>
            query(
              `histogram_quantile(${String(q)}, sum by (le, outcome) (rate(apixo_gateway_callback_delivery_seconds_bucket[${RATE}])))`,
              `p${String(q * 100)} {{outcome}}`,
            ),
          ),
        },
      ],
    },
  ],
};
