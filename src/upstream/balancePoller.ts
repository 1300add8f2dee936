import { parseBalanceAnswer } from "../apixo/answers.js";
import type { Logger } from "../telemetry/logger.js";

export interface BalancePollerOptions {
  readonly baseUrl: string;
  /** Read on every round, so a reload's keys are picked up. Keys go into the Authorization header only. */
  readonly keys: () => readonly { readonly alias: string; readonly key: string }[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly onBalance: (alias: string, balanceUsd: number) => void;
  /** After each round: the aliases configured now, so removed ones can be dropped. */
  readonly onRound: (aliases: readonly string[]) => void;
  readonly logger: Logger;
}

export interface BalancePoller {
  /** One round now (also what the timer runs); never rejects. */
  pollNow(): Promise<void>;
  stop(): void;
}

/**
 * Asks APIXO's current-balance for every configured upstream key every interval, for the
 * upstream_balance_usd gauge. A failed poll keeps the last value and logs the alias (never the key).
 */
export function startBalancePoller(options: BalancePollerOptions): BalancePoller {
  const url = new URL("/api/v1/apikeys/current-balance", options.baseUrl).toString();
  let stopped = false;
  let round: Promise<void> | undefined;

  const pollOne = async (alias: string, key: string): Promise<void> => {
    try {
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${key}`, accept: "application/json" },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const body = Buffer.from(await response.arrayBuffer());
      const parsed = parseBalanceAnswer(response.status, body);
      if (stopped) return;
      if (parsed.ok) options.onBalance(alias, parsed.balanceUsd);
      // The status only: an upstream error body could echo what it was sent.
      else
        options.logger.warn(
          { event: "balance_poll_failed", upstream: alias, status: response.status },
          "balance poll",
        );
    } catch (err) {
      const reason = err instanceof Error ? err.name : "error";
      options.logger.warn({ event: "balance_poll_failed", upstream: alias, reason }, "balance poll");
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
