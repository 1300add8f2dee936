import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Router } from "express";
import { Registry } from "prom-client";
import { createAdminRouter } from "../admin/router.js";
import { CallbackService } from "../callbacks/service.js";
import type { CallbackStore } from "../callbacks/store.js";
import { createCallbackStore } from "../callbacks/storeFactory.js";
import { systemResolver, type HostResolver } from "../callbacks/urlGuard.js";
import { CallbackWorker } from "../callbacks/worker.js";
import { systemClock, type Clock } from "../clock.js";
import type { GatewayConfig } from "../config/schema.js";
import { createApp } from "../http/app.js";
import { createPublicServer } from "../http/publicServer.js";
import { firstOfNextMonth, localDay, startOfDayMs } from "../limits/days.js";
import { Governor } from "../limits/governor.js";
import type { GovernanceStore } from "../limits/store.js";
import { auditLog } from "../telemetry/auditLog.js";
import { startBalancePoller, type BalancePoller } from "../upstream/balancePoller.js";
import { combineEvents, type GatewayEvents } from "../telemetry/events.js";
import type { Logger } from "../telemetry/logger.js";
import { noopTracer, type Tracer } from "../telemetry/tracer.js";
import { createMetrics } from "../telemetry/metrics.js";
import { MonthProgress } from "../telemetry/monthProgress.js";
import { ConfigHolder } from "./configHolder.js";
import { StoreMisconfigured } from "../limits/redisProbe.js";
import { createStore } from "./storeFactory.js";
import { drain } from "./drain.js";
import { buildLedger } from "./ledgerParts.js";
import { startOpsServer } from "./opsServer.js";
import { buildUpstream } from "./upstreamParts.js";

export interface GatewayOptions {
  readonly config: GatewayConfig;
  /** The file to re-read on reload (SIGHUP). */
  readonly configPath?: string;
  readonly logger: Logger;
  /** Where the audit lines go (serve: stdout, buffered); `logger` by default. */
  readonly auditLogger?: Logger;
  readonly clock?: Clock;
  /** Defaults to the store the config names. */
  readonly store?: GovernanceStore;
  /** Extra subscribers (tests). */
  readonly events?: GatewayEvents;
  /** The tracing port (telemetry/tracing.ts startTracing); noop by default. */
  readonly tracer?: Tracer;
  /** Where the metrics are registered; a fresh registry by default (never prom-client's global one). */
  readonly registry?: Registry;
  /** Replaces the admin API mounted at /admin on the metrics port. */
  readonly adminRouter?: Router;
  /** Callback mode: its store (default: where config.store says), DNS resolver and jitter source (tests). */
  readonly callbacks?: {
    readonly store?: CallbackStore;
    readonly resolve?: HostResolver;
    readonly random?: () => number;
  };
}

export interface RunningGateway {
  readonly url: string;
  /** The Prometheus scrape URL, on the separate metrics port (server.metricsHost:server.metricsPort). */
  readonly metricsUrl: string;
  readonly registry: Registry;
  readonly config: () => GatewayConfig;
  readonly store: GovernanceStore;
  reload(): Promise<boolean>;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), then releases everything. */
  close(): Promise<void>;
}

/** The composition root: every part is built here, once, and handed what it needs. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const tracer = options.tracer ?? noopTracer;
  const store =
    options.store ??
    (await createStore(
      config.store,
      (tenantId) => holder.snapshot().policy(tenantId)?.tenant.upstreamKey,
      clock,
      logger,
    ));
  const registry = options.registry ?? new Registry();
  const months = new MonthProgress({ localDay, startOfDayMs, firstOfNextMonth });
  const metrics = createMetrics({
    registry,
    view: () => holder.snapshot().metrics,
    // The governor's day windows: budget gauges and admissions agree on which day "today" is.
    readBudget: (tenantId, timeZone) => store.snapshot(tenantId, governor.dayWindow(timeZone).today),
    // The same calendar and clock as the admissions, so the projection's month is the monthly cap's.
    monthElapsed: (timeZone) => months.elapsedRatio(timeZone, clock.now()),
    // Read once: flipping it at runtime would leave both label schemes' series side by side.
    tenantLabel: config.telemetry.tenantLabel,
    logger,
  });
  const events = combineEvents(
    auditLog(logger, options.auditLogger),
    metrics.events,
    ...(options.events === undefined ? [] : [options.events]),
  );
  const holder = new ConfigHolder(config, {
    clock,
    logger,
    events,
    ...(options.configPath === undefined ? {} : { path: options.configPath }),
  });
  const current = (): GatewayConfig => holder.snapshot().config;
  const governor = new Governor({
    store,
    clock,
    events,
    logger,
    tracer,
    storeSystem: config.store.kind,
    failurePolicy: () => current().store.failurePolicy,
    gate: () => {
      const s = current().store;
      return { maxConcurrent: s.maxConcurrentCalls, maxQueued: s.maxQueuedCalls };
    },
  });
  const ledger = buildLedger(config, { store, governor, clock, events, logger, current });
  const upstream = buildUpstream(config, { clock, events, tracer, upstream: () => current().upstream });
  let draining = false;
  const callbackStore = options.callbacks?.store ?? (await createCallbackStore(config.store, clock, logger));
  const resolve = options.callbacks?.resolve ?? systemResolver;
  const callbackWorker = new CallbackWorker({
    store: callbackStore,
    governor,
    ledger: ledger.writer,
    upstream: upstream.client,
    tracer,
    events,
    clock,
    logger,
    snapshot: () => holder.snapshot(),
    resolve,
    ...(options.callbacks?.random === undefined ? {} : { random: options.callbacks.random }),
  });
  const callbacks = new CallbackService({
    store: callbackStore,
    worker: callbackWorker,
    events,
    clock,
    logger,
    resolve,
  });
  const app = createApp({
    callbacks,
    governor,
    ledger: ledger.writer,
    upstream: upstream.client,
    balances: upstream.balances,
    lastKnown: upstream.protection.lastKnown,
    agent: upstream.agent,
    upstreamBaseUrl: config.upstream.baseUrl,
    events,
    clock,
    logger,
    tracer,
    snapshot: () => holder.snapshot(),
    readiness: async () => {
      if (draining) return { ready: false, reason: "draining" };
      try {
        await store.ping();
        return { ready: true };
      } catch (err) {
        // A wrong topology or a forbidding ACL is not an outage: not ready, whatever the failure policy.
        if (err instanceof StoreMisconfigured) {
          return { ready: false, reason: `limit store misconfigured: ${err.message}` };
        }
        const failOpen = current().store.failurePolicy === "fail-open";
        return failOpen
          ? { ready: true, reason: "limit store unreachable (fail-open)" }
          : { ready: false, reason: "limit store unreachable" };
      }
    },
  });

  const server: Server = createPublicServer(app, config.server, { logger, clock });
  // A start that fails (a port is taken) releases what this call opened, so a CLI process can exit.
  const releaseOnFailure = async (err: unknown): Promise<never> => {
    upstream.agent.destroy();
    await upstream.transport.close();
    ledger.journal.close();
    if (options.callbacks?.store === undefined) await callbackStore.close();
    if (options.store === undefined) await store.close();
    throw err;
  };
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch(releaseOnFailure);
  const address = server.address() as AddressInfo;
  const url = `http://${address.address}:${address.port}`;
  const ops = await startOpsServer({
    host: config.server.metricsHost,
    port: config.server.metricsPort,
    registry,
    adminRouter:
      options.adminRouter ?? createAdminRouter({ store, snapshot: () => holder.snapshot(), clock, logger }),
    logger,
  }).catch(async (err: unknown) => {
    // e.g. the metrics port is taken: do not leave the public port open behind a failed start.
    await new Promise((resolve) => server.close(resolve));
    return releaseOnFailure(err);
  });
  const poller: BalancePoller | undefined =
    config.telemetry.balancePollSeconds > 0
      ? startBalancePoller({
          upstream: upstream.client,
          clock,
          tracer,
          keys: () => current().upstream.keys,
          intervalMs: config.telemetry.balancePollSeconds * 1000,
          timeoutMs: config.upstream.timeoutMs,
          onBalance: (alias, usd) => {
            metrics.setUpstreamBalance(alias, usd);
          },
          onRound: (aliases) => {
            metrics.retainUpstreams(aliases);
          },
          logger,
        })
      : undefined;
  if (poller !== undefined) metrics.setBalanceRefresher(() => poller.pollNow());
  // Picks up deliveries a previous run (or another replica) left due.
  callbackWorker.start();
  ledger.sweeper.start();
  logger.info(
    {
      event: "listening",
      url,
      metricsUrl: ops.metricsUrl,
      tenants: config.tenants.length,
      store: config.store.kind,
    },
    "gateway listening",
  );

  return {
    url,
    metricsUrl: ops.metricsUrl,
    registry,
    config: current,
    store,
    reload: () => holder.reload(),
    async close() {
      draining = true;
      poller?.stop();
      await drain(server, config.server.shutdownGraceMs);
      // Unfinished callback work stays in the store for the next run or another replica.
      await callbackWorker.stop();
      await callbackStore.close();
      await ledger.sweeper.stop();
      // What the journal still holds is applied now if the store answers; otherwise it stays in the
      // journal file (store.journal.path) for the next start, or is lost with the process (docs say which).
      await ledger.writer.flush(config.server.shutdownGraceMs);
      ledger.journal.close();
      // After the drain, so the last requests' metrics can still be scraped while it runs.
      await ops.close();
      upstream.agent.destroy();
      await upstream.transport.close();
      await store.close();
      logger.info({ event: "stopped" }, "gateway stopped");
    },
  };
}
