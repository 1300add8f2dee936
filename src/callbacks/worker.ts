import type { Clock } from "../clock.js";
import type { Snapshot } from "../tenants/snapshot.js";
import type { Governor } from "../limits/governor.js";
import type { LedgerWriter } from "../ledger/writer.js";
import { settleOutcome } from "../ledger/settle.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { Logger } from "../telemetry/logger.js";
import type { Tracer } from "../telemetry/tracer.js";
import type { UpstreamClient } from "../upstream/client.js";
import { allowListOf } from "../net/addresses.js";
import { confirmCallback, type Confirmation } from "./confirm.js";
import { backoffMs } from "../upstream/retry.js";
import { deliverOnce } from "./deliver.js";
import { webhookId } from "../net/webhooks.js";
import type { CallbackJob, CallbackRoute, CallbackStore } from "./store.js";
import type { HostResolver, UrlPolicy } from "./urlGuard.js";

export interface CallbackWorkerDeps {
  readonly store: CallbackStore;
  readonly governor: Governor;
  readonly ledger: LedgerWriter;
  /** Confirmations are statusTask calls through the one upstream client. */
  readonly upstream: UpstreamClient;
  readonly tracer: Tracer;
  readonly events: GatewayEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly snapshot: () => Snapshot;
  readonly resolve: HostResolver;
  /** Jitter source; injectable for tests. */
  readonly random?: () => number;
}

const BATCH = 16;
/** A claim outlives the slowest confirm + delivery by a margin; after it, another replica may take the job. */
const LEASE_MARGIN_MS = 30_000;

export function urlPolicyOf(snapshot: Snapshot, resolve: HostResolver): UrlPolicy {
  const { allowHttp, allowPrivateNetworks } = snapshot.config.callbacks;
  return { allowHttp, allowList: allowListOf(allowPrivateNetworks), resolve };
}

/**
 * The background loop that finishes callback work from the store: confirm (statusTask) and settle, then
 * deliver to the tenant with retries. Any replica may run any job; the store's lease makes one run it at a time.
 */
export class CallbackWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: CallbackWorkerDeps) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Runs a pass now (a callback just arrived) instead of at the next poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (!this.stopped) {
        this.timer = setTimeout(() => {
          this.wake();
        }, this.deps.snapshot().config.callbacks.workerPollMs);
        this.timer.unref();
      }
    });
  }

  /** Lets the pass in progress finish (its jobs are saved or left to their lease), then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      let claimed = 0;
      try {
        claimed = await this.pass();
      } catch (err) {
        this.deps.logger.warn(
          { event: "callback_worker_error", err: err instanceof Error ? err.message : String(err) },
          "callback worker pass failed; retrying at the next poll",
        );
      }
      if (claimed >= BATCH) this.again = true;
    } while (this.again && !this.stopped);
  }

  private async pass(): Promise<number> {
    const config = this.deps.snapshot().config;
    const leaseMs = config.upstream.timeoutMs + config.callbacks.delivery.timeoutMs + LEASE_MARGIN_MS;
    const jobs = await this.deps.store.claim(leaseMs, BATCH);
    await Promise.all(jobs.map((job) => this.process(job)));
    return jobs.length;
  }

  private async process(job: CallbackJob): Promise<void> {
    try {
      const route = await this.deps.store.getRoute(job.tenantId, job.id);
      if (route === null) {
        this.deps.logger.warn(
          { event: "callback_route_gone", tenant: job.tenantId },
          "callback for a gone route",
        );
        await this.deps.store.finish(job, "tombstone");
        return;
      }
      if (job.stage === "confirm") await this.confirm(job, route);
      else await this.deliver(job, route, job.envelope ?? "");
    } catch (err) {
      // The lease runs out and the job comes due again: nothing is lost.
      this.deps.logger.warn(
        {
          event: "callback_job_error",
          tenant: job.tenantId,
          err: err instanceof Error ? err.message : String(err),
        },
        "callback job failed; it will be retried after its lease",
      );
    }
  }

  private retryOrGiveUp(attempts: number): { giveUp: boolean; delayMs: number } {
    const settings = this.deps.snapshot().config.callbacks.delivery;
    return {
      giveUp: attempts >= settings.attempts,
      delayMs: backoffMs(attempts, settings, this.deps.random ?? Math.random),
    };
  }

  private async confirm(job: CallbackJob, route: CallbackRoute): Promise<void> {
    const snapshot = this.deps.snapshot();
    const { tracer } = this.deps;
    const span = tracer.child("apixo.callback confirm", { "apixo.tenant": route.tenantId });
    const result = await tracer.run(span, () =>
      confirmCallback({ ...this.deps, snapshot }, route, job.callbackBody),
    );
    tracer.end(span, result.kind === "confirmed" ? undefined : result.reason);
    const log = { tenant: route.tenantId, taskId: route.taskId };
    if (result.kind === "reject") {
      this.deps.logger.warn(
        { event: "callback_rejected", ...log, reason: result.reason },
        "callback not trusted",
      );
      this.deps.events.callbackFinished({ tenant: route.tenantId, outcome: "rejected", durationMs: 0 });
      await this.deps.store.finish(job, "forget");
      return;
    }
    if (result.kind === "retry" && result.afterMs !== undefined) {
      // The account's budget, not the callback, is why: wait for it without using up an attempt.
      await this.deps.store.reschedule(job, { stage: "confirm", attempts: job.attempts }, result.afterMs);
      return;
    }
    if (result.kind === "retry") {
      const attempts = job.attempts + 1;
      const next = this.retryOrGiveUp(attempts);
      if (next.giveUp) {
        // Forgotten, not tombstoned: APIXO's own retry (or a real callback after a forged one) starts afresh.
        this.deps.logger.warn(
          { event: "callback_unconfirmed", ...log, reason: result.reason },
          "callback unconfirmed",
        );
        this.deps.events.callbackFinished({ tenant: route.tenantId, outcome: "rejected", durationMs: 0 });
        await this.deps.store.finish(job, "forget");
      } else await this.deps.store.reschedule(job, { stage: "confirm", attempts }, next.delayMs);
      return;
    }
    if (result.contradicted) {
      this.deps.logger.warn(
        { event: "callback_contradicted", ...log },
        "callback body contradicts statusTask",
      );
    }
    try {
      await this.settle(route, result, snapshot);
    } catch (err) {
      // Callback-mode tenants do not poll, so nothing else would ever settle (refund) this task: try again.
      const attempts = job.attempts + 1;
      const next = this.retryOrGiveUp(attempts);
      const reason = err instanceof Error ? err.message : String(err);
      this.deps.logger.warn(
        { event: "callback_settle_failed", ...log, reason },
        "settling a callback failed",
      );
      if (next.giveUp) {
        this.deps.events.callbackFinished({ tenant: route.tenantId, outcome: "rejected", durationMs: 0 });
        await this.deps.store.finish(job, "forget");
      } else await this.deps.store.reschedule(job, { stage: "confirm", attempts }, next.delayMs);
      return;
    }
    await this.deliver(job, route, result.envelope.toString("utf8"));
  }

  /**
   * Settles as a poll would; throws when the store cannot be read (a fault, not a decision). A settle the
   * store cannot take now is kept by the ledger writer's journal and applied when it is back.
   */
  private async settle(
    route: CallbackRoute,
    result: Extract<Confirmation, { kind: "confirmed" }>,
    snapshot: Snapshot,
  ): Promise<void> {
    const { outcome } = result;
    const { governor } = this.deps;
    // A StoreUnavailable here is a fault: the job's lease runs out and it is tried again.
    const task = await governor.observe("callback_get_task", () =>
      governor.store.getTask(route.tenantId, outcome.taskId),
    );
    if (task === null) return;
    const cache = result.fromStatus && snapshot.config.upstream.protection.statusCache;
    await settleOutcome(this.deps, snapshot.config, task, {
      state: outcome.state,
      failCode: outcome.failCode,
      costTimeMs: outcome.costTimeMs,
      ...(cache ? { answer: { status: 200, contentType: "application/json", body: result.envelope } } : {}),
    });
  }

  private async deliver(job: CallbackJob, route: CallbackRoute, envelope: string): Promise<void> {
    const snapshot = this.deps.snapshot();
    const secret = snapshot.policy(route.tenantId)?.tenant.callbackSecret;
    const started = this.deps.clock.monotonicMs();
    const result =
      secret === undefined
        ? { ok: false as const, reason: "the tenant has no callbackSecret" }
        : await deliverOnce(
            {
              url: route.tenantUrl,
              body: Buffer.from(envelope, "utf8"),
              secret,
              id: webhookId(job.id),
              timestampSec: Math.floor(this.deps.clock.now() / 1000),
              timeoutMs: snapshot.config.callbacks.delivery.timeoutMs,
              taskId: route.taskId ?? "",
            },
            urlPolicyOf(snapshot, this.deps.resolve),
          );
    const durationMs = this.deps.clock.monotonicMs() - started;
    const tenant = route.tenantId;
    if (result.ok) {
      await this.deps.store.finish(job, "tombstone");
      this.deps.events.callbackFinished({ tenant, outcome: "delivered", durationMs });
      return;
    }
    const attempts = job.stage === "deliver" ? job.attempts + 1 : 1;
    const next = this.retryOrGiveUp(attempts);
    const log = { tenant, taskId: route.taskId, attempt: attempts, reason: result.reason };
    if (next.giveUp) {
      await this.deps.store.finish(job, "tombstone");
      this.deps.logger.warn({ event: "callback_delivery_failed", ...log }, "callback delivery gave up");
      this.deps.events.callbackFinished({ tenant, outcome: "failed", durationMs });
      return;
    }
    await this.deps.store.reschedule(job, { stage: "deliver", attempts, envelope }, next.delayMs);
    this.deps.logger.info(
      { event: "callback_delivery_retry", ...log, delayMs: next.delayMs },
      "callback retry",
    );
    this.deps.events.callbackFinished({ tenant, outcome: "retried", durationMs });
  }
}
