import { Agent as HttpAgent, createServer, type Server } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { AddressInfo } from "node:net";
import { systemClock, type Clock } from "../clock.js";
import type { GatewayConfig } from "../config/schema.js";
import { Contexts } from "../http/context.js";
import { createApp } from "../http/app.js";
import { Governor } from "../limits/governor.js";
import type { GovernanceStore } from "../limits/store.js";
import { BalanceCache } from "../proxy/balanceCache.js";
import { Forwarder } from "../proxy/forwarder.js";
import { auditLog } from "../telemetry/auditLog.js";
import { combineEvents, type GatewayEvents } from "../telemetry/events.js";
import type { Logger } from "../telemetry/logger.js";
import { ConfigHolder } from "./configHolder.js";
import { createStore } from "./storeFactory.js";
import { drain } from "./drain.js";

export interface GatewayOptions {
  readonly config: GatewayConfig;
  /** The file to re-read on reload (SIGHUP). */
  readonly configPath?: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Defaults to the store the config names. */
  readonly store?: GovernanceStore;
  /** Extra subscribers (tests, tracing). */
  readonly events?: GatewayEvents;
}

export interface RunningGateway {
  readonly url: string;
  readonly config: () => GatewayConfig;
  readonly store: GovernanceStore;
  reload(): Promise<boolean>;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), then releases everything. */
  close(): Promise<void>;
}

const MAX_ANSWER_BYTES = 1_048_576;
const BALANCE_CACHE_MS = 5_000;

/** The composition root: every part is built here, once, and handed what it needs. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const events = combineEvents(auditLog(logger), ...(options.events === undefined ? [] : [options.events]));
  const holder = new ConfigHolder(config, {
    clock,
    logger,
    events,
    ...(options.configPath === undefined ? {} : { path: options.configPath }),
  });
  const store = options.store ?? (await createStore(config.store, clock, logger));
  const agentOptions = { keepAlive: true, maxSockets: config.upstream.maxSockets, maxFreeSockets: 64, scheduling: "lifo" as const };
  const agent = config.upstream.baseUrl.startsWith("https:") ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const forwarder = new Forwarder({
    baseUrl: config.upstream.baseUrl,
    agent,
    timeoutMs: config.upstream.timeoutMs,
    connectTimeoutMs: config.upstream.connectTimeoutMs,
    maxAnswerBytes: MAX_ANSWER_BYTES,
    clock,
  });
  const governor = new Governor({
    store,
    clock,
    events,
    logger,
    failurePolicy: () => holder.snapshot().config.store.failurePolicy,
  });
  let draining = false;
  const app = createApp({
    contexts: new Contexts(),
    governor,
    forwarder,
    balances: new BalanceCache(clock, BALANCE_CACHE_MS),
    events,
    clock,
    logger,
    snapshot: () => holder.snapshot(),
    readiness: async () => {
      if (draining) return { ready: false, reason: "draining" };
      try {
        await store.ping();
        return { ready: true };
      } catch {
        const failOpen = holder.snapshot().config.store.failurePolicy === "fail-open";
        return failOpen ? { ready: true, reason: "limit store unreachable (fail-open)" } : { ready: false, reason: "limit store unreachable" };
      }
    },
  });

  const server: Server = createServer({ keepAliveTimeout: config.server.keepAliveTimeoutMs }, app);
  server.headersTimeout = config.server.keepAliveTimeoutMs + 5_000;
  server.requestTimeout = config.upstream.timeoutMs + 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.address}:${address.port}`;
  logger.info({ event: "listening", url, tenants: config.tenants.length, store: config.store.kind }, "gateway listening");

  return {
    url,
    config: () => holder.snapshot().config,
    store,
    reload: () => holder.reload(),
    async close() {
      draining = true;
      await drain(server, config.server.shutdownGraceMs);
      agent.destroy();
      await store.close();
      logger.info({ event: "stopped" }, "gateway stopped");
    },
  };
}
