import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { Clock } from "../clock.js";
import type { GatewayConfig } from "../config/schema.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { Tracer } from "../telemetry/tracer.js";
import { BalanceCache } from "../upstream/balanceCache.js";
import { UpstreamClient } from "../upstream/client.js";
import { createUpstreamProtection, type UpstreamProtection } from "../upstream/protection.js";
import { Transport } from "../upstream/transport.js";

const MAX_ANSWER_BYTES = 1_048_576;
const BALANCE_CACHE_MS = 5_000;

export interface UpstreamParts {
  readonly agent: HttpAgent | HttpsAgent;
  readonly transport: Transport;
  readonly client: UpstreamClient;
  readonly protection: UpstreamProtection;
  readonly balances: BalanceCache;
}

/** The keep-alive pool, the transport on it, and the one client with protection around it. */
export function buildUpstream(
  config: GatewayConfig,
  deps: {
    readonly clock: Clock;
    readonly events: GatewayEvents;
    readonly tracer: Tracer;
    readonly upstream: () => GatewayConfig["upstream"];
  },
): UpstreamParts {
  const agentOptions = {
    keepAlive: true,
    maxSockets: config.upstream.maxSockets,
    maxFreeSockets: 64,
    scheduling: "lifo" as const,
    // Node's agent closes a free socket after `timeout` (and sooner when APIXO sends Keep-Alive: timeout=N).
    timeout: config.upstream.idleSocketTimeoutMs,
  };
  const agent =
    new URL(config.upstream.baseUrl).protocol === "https:"
      ? new HttpsAgent(agentOptions)
      : new HttpAgent(agentOptions);
  const transport = new Transport({
    baseUrl: config.upstream.baseUrl,
    agent,
    connectTimeoutMs: config.upstream.connectTimeoutMs,
    maxAnswerBytes: MAX_ANSWER_BYTES,
    clock: deps.clock,
  });
  const protection = createUpstreamProtection(deps.clock, deps.events);
  protection.breakers.announce(config.upstream.keys.map((k) => k.alias));
  const client = new UpstreamClient({
    transport,
    breakers: protection.breakers,
    polls: protection.polls,
    clock: deps.clock,
    events: deps.events,
    tracer: deps.tracer,
    settings: () => {
      const upstream = deps.upstream();
      // The base URL is a restart setting: the transport was built with this one.
      return { baseUrl: config.upstream.baseUrl, protection: upstream.protection };
    },
  });
  return { agent, transport, client, protection, balances: new BalanceCache(deps.clock, BALANCE_CACHE_MS) };
}
