import { parseBalanceAnswer } from "../apixo/answers.js";
import { BALANCE_TARGET } from "../apixo/endpoints.js";
import type { Clock } from "../clock.js";
import type { Logger } from "../telemetry/logger.js";
import type { Tracer } from "../telemetry/tracer.js";
import type { UpstreamClient } from "./client.js";

export interface BalancePollerOptions {
  /** The one upstream client: the breaker, retries, keep-alive pool and upstream metrics apply to polls too. */
  readonly upstream: UpstreamClient;
  readonly clock: Clock;
  /** Read on every round, so a reload's keys are picked up. Keys go into the Authorization header only. */
  readonly keys: () => readonly { readonly alias: string; readonly key: string }[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly onBalance: (alias: string, balanceUsd: number) => void;
  /** After each round: the aliases configured now, so removed ones can be dropped. */
  readonly onRound: (aliases: readonly string[]) => void;
  readonly logger: Logger;
  /** Each poll is a trace of its own (a root span around the client span), so it carries trace context. */
  readonly tracer?: Tracer;
}

export interface BalancePoller {
  /** One round now (also what the timer runs); never rejects. */
  pollNow(): Promise<void>;
  stop(): void;
}

/**
 * Asks APIXO's current-balance for every configured upstream key every interval, for the
 * upstream_balance_usd gauge. A failed poll keeps the last value and logs the alias (never the key).
 *
 * Polls take no token of the account's request budget: one call per upstream key per interval per process
 * (default 60 s) is far inside the headroom the budget's burst leaves (docs/upstream-protection.md), and a
 * budget spent by tenants must not blind the balance gauge on-call watches.
 */
export function startBalancePoller(options: BalancePollerOptions): BalancePoller {
  let stopped = false;
  let round: Promise<void> | undefined;

  const pollOne = async (alias: string, key: string): Promise<void> => {
    const span = options.tracer?.child("balance poll", { "apixo.upstream": alias });
    let error: string | undefined;
    try {
      const call = () =>
        options.upstream.call({
          operation: "balance",
          model: undefined,
          upstream: alias,
          upstreamKey: key,
          target: BALANCE_TARGET,
          requestId: `balance-poll-${alias}`,
          deadlineMs: options.clock.monotonicMs() + options.timeoutMs,
          idempotent: true,
        });
      const response = await (options.tracer?.run(span, call) ?? call());
      const parsed = parseBalanceAnswer(response.status, response.body);
      if (stopped) return;
      if (parsed.ok) options.onBalance(alias, parsed.balanceUsd);
      // The status only: an upstream error body could echo what it was sent.
      else {
        error = String(response.status);
        options.logger.warn(
          { event: "balance_poll_failed", upstream: alias, status: response.status },
          "balance poll",
        );
      }
    } catch (err) {
      const reason = err instanceof Error ? err.name : "error";
      error = reason;
      options.logger.warn({ event: "balance_poll_failed", upstream: alias, reason }, "balance poll");
    } finally {
      options.tracer?.end(span, error);
    }
  };

  const pollNow = (): Promise<void> => {
    // Overlapping rounds (slow upstream, short interval) would only double the load on APIXO.
    if (round !== undefined) return round;
    const keys = options.keys();
    round = Promise.all(keys.map((k) => pollOne(k.alias, k.key)))
      .then(() => {
        if (!stopped) options.onRound(keys.map((k) => k.alias));
      })
      .finally(() => {
        round = undefined;
      });
    return round;
  };

  // No poll at start: the first one comes with the first scrape (see createMetrics) or after one interval, so a
  // gateway nobody scrapes (tests, short-lived runs) sends APIXO nothing it was not asked for.
  const timer = setInterval(() => {
    void pollNow();
  }, options.intervalMs);
  timer.unref();

  return {
    pollNow,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
