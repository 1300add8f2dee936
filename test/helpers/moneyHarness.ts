import { randomUUID } from "node:crypto";
import { singleRedis, type RedisTopology } from "../../src/config/redis.js";
import { checkLedger, type LedgerCheck } from "../../src/ledger/check.js";
import { RedisStore } from "../../src/limits/redis.js";
import { createRedisClient, waitForRedisReady, type RedisConnection } from "../../src/limits/redisClient.js";
import { daysOfMonth } from "../../src/limits/days.js";
import { monthOf, type ReservationRecord, type TenantSnapshot } from "../../src/limits/store.js";
import { createSimulator, type Simulator } from "../../src/simulator/index.js";
import { generateGatewayKey, hashGatewayKey } from "../../src/tenants/keys.js";
import { startServeProcesses, type CliProcess } from "./cli.js";

/**
 * Money tests against real `apixo-gateway serve` processes, a real redis-server and the simulator: what a
 * client saw, what APIXO saw, and what the ledger says afterwards, read straight from Redis.
 */

export const PRICE_MICROS = 30_000; // nano-banana's default estimate, $0.03
export const SUBMIT_BODY = '{"input":{"prompt":"a lighthouse at dawn"}}';

export interface Answer {
  readonly status: number;
  readonly type: string | undefined;
  readonly taskId: string | undefined;
}

export function days(): string[] {
  const now = Date.now();
  return [-1, 0, 1].map((d) => new Date(now + d * 86_400_000).toISOString().slice(0, 10));
}

export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A tenant's ledger as the store has it, through the gateway's own store code on a separate connection. */
export class LedgerProbe {
  private readonly redis: RedisConnection;
  readonly store: RedisStore;

  constructor(
    target: RedisTopology,
    prefix: string,
    accountOf: (tenantId: string) => string | undefined = () => "main",
  ) {
    this.redis = createRedisClient(target, { maxReconnectDelayMs: 100, onError: () => undefined });
    this.store = new RedisStore({
      redis: this.redis,
      prefix,
      silenceMs: 5_000,
      accountOf,
      topology: target.topology,
    });
  }

  ready(): Promise<void> {
    return waitForRedisReady(this.redis, 10_000);
  }

  /** Spend over the days around now (a run that crosses midnight still sums right). */
  async spentMicros(tenantId: string): Promise<number> {
    const spend = await this.store.spendOfDays(tenantId, days());
    return spend.reduce((sum, d) => sum + d.spentMicros, 0);
  }

  snapshot(tenantId: string): Promise<TenantSnapshot> {
    return this.store.snapshot(tenantId, days()[1] ?? "");
  }

  reservations(tenantId: string): Promise<readonly ReservationRecord[]> {
    return this.store.reservations(tenantId);
  }

  /**
   * The ledger check of every day around now, and that each of their months' totals is the sum of its days
   * (every fate moves a charge in the day and the month together); the problems of all of them.
   */
  async problems(tenantId: string): Promise<string[]> {
    const checks: LedgerCheck[] = [];
    for (const day of days()) {
      checks.push(checkLedger(tenantId, await this.store.audit(tenantId, day), { orphanAfterMs: 60_000 }));
    }
    const problems = checks.flatMap((c) => [...c.problems]);
    for (const month of new Set(days().map(monthOf))) {
      const [total] = await this.store.usage(tenantId, [month]);
      const ofDays = await this.store.spendOfDays(tenantId, daysOfMonth(month));
      const sum = ofDays.reduce((s, d) => s + d.spentMicros, 0);
      if (total?.spentMicros !== sum) {
        problems.push(`month ${month} totals ${total?.spentMicros ?? "nothing"}, its days ${sum}`);
      }
    }
    return problems;
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

export interface MoneyStackOptions {
  /** A single Redis by URL, or any topology (`redis`, written to the config as store.redis). */
  readonly redisUrl?: string;
  readonly redis?: RedisTopology;
  /** How the test's own ledger probe reaches the same Redis, when not as the gateway does (a plain port). */
  readonly probeRedis?: RedisTopology;
  readonly processes?: number;
  readonly tenants: readonly { readonly id: string; readonly [field: string]: unknown }[];
  /** Deep-merged over the generated sections. */
  readonly config?: Record<string, Record<string, unknown>>;
  readonly simulator?: Simulator;
  readonly env?: Record<string, string>;
}

export interface MoneyStack {
  readonly simulator: Simulator;
  readonly urls: readonly string[];
  readonly metricsUrls: readonly string[];
  readonly processes: readonly CliProcess[];
  readonly configPath: string;
  readonly config: Record<string, unknown>;
  readonly keys: Readonly<Record<string, string>>;
  readonly prefix: string;
  readonly probe: LedgerProbe;
  submit(
    tenantId: string,
    options?: { url?: string; idempotencyKey?: string; headers?: Readonly<Record<string, string>> },
  ): Promise<Answer>;
  poll(
    tenantId: string,
    taskId: string,
    url?: string,
  ): Promise<Answer & { readonly state: string | undefined }>;
  /** One metric's value summed over the processes' scrapes (label filter as a substring, e.g. `fate="unknown"`). */
  metric(name: string, labels?: string): Promise<number>;
  close(): Promise<void>;
}

export const UPSTREAM_KEY = "sk-sim-money-0123456789abcdef";

export async function startMoneyStack(options: MoneyStackOptions): Promise<MoneyStack> {
  const simulator =
    options.simulator ??
    createSimulator({ keys: { [UPSTREAM_KEY]: 100_000 }, pendingMs: 60_000, processingMs: 0 });
  if (options.simulator === undefined) await simulator.listen(0);
  const keys: Record<string, string> = {};
  const prefix = `money${randomUUID().slice(0, 8)}`;
  const sections = options.config ?? {};
  const config: Record<string, unknown> = {
    ...sections,
    server: { port: 0, metricsPort: 0, ...sections.server },
    upstream: { baseUrl: simulator.url, keys: [{ alias: "main", key: UPSTREAM_KEY }], ...sections.upstream },
    store: {
      kind: "redis",
      ...(options.redis === undefined
        ? { redisUrl: options.redisUrl }
        : { redis: topologyConfig(options.redis) }),
      keyPrefix: prefix,
      ...sections.store,
    },
    admin: { token: "admin-token-0123456789", ...sections.admin },
    tenants: options.tenants.map((spec) => {
      const key = generateGatewayKey();
      keys[spec.id] = key;
      return { keys: [{ hash: hashGatewayKey(key) }], upstreamKey: "main", ...spec };
    }),
  };
  const started = await startServeProcesses(config, options.processes ?? 1, options.env);
  const upstreamOf = new Map(
    (config.tenants as { id: string; upstreamKey: string }[]).map((t) => [t.id, t.upstreamKey]),
  );
  const probe = new LedgerProbe(
    options.probeRedis ?? options.redis ?? singleRedis(options.redisUrl ?? ""),
    prefix,
    (tenantId) => upstreamOf.get(tenantId),
  );
  await probe.ready();
  const url0 = started.urls[0] ?? "";

  return {
    simulator,
    ...started,
    config,
    keys,
    prefix,
    probe,
    async submit(tenantId, { url = url0, idempotencyKey, headers = {} } = {}) {
      try {
        const response = await fetch(`${url}/api/v1/generateTask/nano-banana`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${keys[tenantId] ?? ""}`,
            "content-type": "application/json",
            ...(idempotencyKey === undefined ? {} : { "idempotency-key": idempotencyKey }),
            ...headers,
          },
          body: SUBMIT_BODY,
        });
        return answerOf(response.status, await response.text());
      } catch {
        return { status: 0, type: "connection_failed", taskId: undefined };
      }
    },
    async poll(tenantId, taskId, url = url0) {
      const response = await fetch(
        `${url}/api/v1/statusTask/nano-banana?taskId=${encodeURIComponent(taskId)}`,
        {
          headers: { authorization: `Bearer ${keys[tenantId] ?? ""}` },
        },
      );
      const text = await response.text();
      const state = /"state":"([a-z]+)"/.exec(text)?.[1];
      return { ...answerOf(response.status, text), state };
    },
    async metric(name, labels = "") {
      let total = 0;
      for (const metricsUrl of started.metricsUrls) {
        const text = await (await fetch(metricsUrl)).text();
        for (const line of text.split("\n")) {
          if (!line.startsWith(`apixo_gateway_${name}`) || !line.includes(labels)) continue;
          const head = line.slice(0, line.lastIndexOf(" "));
          if (head !== `apixo_gateway_${name}` && !head.startsWith(`apixo_gateway_${name}{`)) continue;
          total += Number(line.slice(line.lastIndexOf(" ") + 1));
        }
      }
      return total;
    },
    async close() {
      for (const p of started.processes) await p.stop();
      await probe.close();
      if (options.simulator === undefined) await simulator.close();
    },
  };
}

function answerOf(status: number, text: string): Answer {
  return {
    status,
    type: /"type":"([A-Z_]+)"/.exec(text)?.[1],
    taskId: /"taskId":"([^"]+)"/.exec(text)?.[1],
  };
}

/** A topology as the config file spells it: addresses as "host:port". */
export function topologyConfig(topology: RedisTopology): Record<string, unknown> {
  const address = ({ host, port }: { host: string; port: number }) => `${host}:${port}`;
  switch (topology.topology) {
    case "single":
      return topology;
    case "sentinel":
      return { ...topology, sentinels: topology.sentinels.map(address) };
    case "cluster":
      return { ...topology, nodes: topology.nodes.map(address) };
  }
}
