import type { IncomingHttpHeaders } from "node:http";
import type { Clock } from "../clock.js";

export interface SimulatorOptions {
  /** Valid API key -> starting balance in USD. */
  keys: Record<string, number>;
  /** Time a task spends in `pending` (default 1000). */
  pendingMs?: number;
  /** Time a task spends in `processing` (default: the model's typicalMs). */
  processingMs?: number | ((model: string) => number);
  /**
   * Price of one task in micro-USD; `model` is the canonical id from models.ts, `provider` the body's routing
   * field as sent (default: the gateway's built-in price table, so both count the same money).
   */
  priceMicros?: (model: string, input: Record<string, unknown>, provider: unknown) => number;
  /** Delays between callback retries (default [1000, 2000, 4000]: 1 try + up to 3 retries). */
  callbackRetryDelaysMs?: readonly number[];
  /** Extra identical callback deliveries per task (default 0), for idempotency tests. */
  callbackDuplicates?: number;
  /** Delay before the first callback delivery (default 0). */
  callbackDelayMs?: number;
  /** Default systemClock; task state is computed from it on every read. */
  clock?: Clock;
  /**
   * How many of the most recent requests and callbacks `stats` keeps with their bodies (default 10_000).
   * Counters stay exact; the cap only keeps a long load test from holding every body in memory.
   */
  maxRecordedRequests?: number;
  /** Source of fault-rule chances (default Math.random). */
  random?: () => number;
}

export type SimEndpoint = "generateTask" | "statusTask" | "balance";

export type FaultAction =
  | { kind: "status"; status: number; body?: string; headers?: Record<string, string> }
  /** Waits, then answers normally. */
  | { kind: "delay"; ms: number }
  /** Destroys the socket without answering. */
  | { kind: "reset" }
  /** 200 with a body that is not JSON. */
  | { kind: "garbage" }
  /** Never answers until close(). */
  | { kind: "hang" };

export interface FaultRule {
  endpoint?: SimEndpoint;
  /** Model path segment or canonical id; matches only requests naming that model. */
  model?: string;
  /** How many requests this rule applies to (default Infinity). */
  times?: number;
  /**
   * The chance (0-1) that a matching request is hit (default 1); a request spared does not use up `times`.
   * Drawn from SimulatorOptions.random, so a seeded source makes a run repeatable.
   */
  probability?: number;
  action: FaultAction;
}

export interface FaultInjector {
  add(rule: FaultRule): void;
  clear(): void;
}

export interface RecordedRequest {
  method: string;
  /** Path with query string. */
  path: string;
  endpoint: SimEndpoint | "other";
  headers: IncomingHttpHeaders;
  /** Raw body bytes (empty when the body was over the size limit). */
  body: Buffer;
  /** Clock time (Unix ms) the request was complete. */
  at: number;
}

export interface RecordedCallback {
  url: string;
  taskId: string;
  /** 1-based count of POSTs made for this task, duplicates included. */
  attempt: number;
  status: number | "error";
  body: string;
}

export interface SimulatorStats {
  readonly requests: readonly RecordedRequest[];
  /** Requests seen so far, all or for one endpoint; exact even when `requests` was trimmed. */
  count(endpoint?: SimEndpoint | "other"): number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  readonly callbacks: readonly RecordedCallback[];
  /** Tasks created so far. */
  readonly tasks: number;
}

export interface Simulator {
  /** Resolves to the base URL, e.g. http://127.0.0.1:PORT; port 0 picks a free port; host defaults to 127.0.0.1. */
  listen(port?: number, host?: string): Promise<string>;
  readonly url: string;
  /** Closes the server, every socket and every pending callback or delay timer. */
  close(): Promise<void>;
  readonly faults: FaultInjector;
  readonly stats: SimulatorStats;
  balanceUsd(key: string): number;
  /** Clears tasks, stats and faults; restores starting balances. */
  reset(): void;
}
