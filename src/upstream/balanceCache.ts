import type { Clock } from "../clock.js";

interface Entry {
  readonly balanceUsd: number;
  readonly fetchedMs: number;
}

/**
 * The upstream balance per upstream key alias, kept briefly: every tenant's current-balance call would
 * otherwise cost one APIXO request. Concurrent misses share one fetch.
 */
export class BalanceCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<number | undefined>>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  peek(alias: string): number | undefined {
    const entry = this.entries.get(alias);
    if (entry === undefined || this.clock.monotonicMs() - entry.fetchedMs > this.ttlMs) return undefined;
    return entry.balanceUsd;
  }

  /** `fetch` resolves to undefined when APIXO's answer was not a balance (nothing is cached then). */
  async get(alias: string, fetch: () => Promise<number | undefined>): Promise<number | undefined> {
    const cached = this.peek(alias);
    if (cached !== undefined) return cached;
    const inFlight = this.pending.get(alias);
    if (inFlight !== undefined) return inFlight;
    const promise = fetch()
      .then((balanceUsd) => {
        if (balanceUsd !== undefined)
          this.entries.set(alias, { balanceUsd, fetchedMs: this.clock.monotonicMs() });
        return balanceUsd;
      })
      .finally(() => this.pending.delete(alias));
    this.pending.set(alias, promise);
    return promise;
  }
}
