import type { RecordedCallback, RecordedRequest, SimEndpoint, SimulatorStats } from "./types.js";

/**
 * Keeps the newest `cap` items. Old ones are dropped in batches (when twice the cap is reached) so that recording
 * stays O(1) amortised on the hot path; readers get exactly the newest `cap`.
 */
class RecentList<T> {
  private items: T[] = [];

  constructor(private readonly cap: number) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length >= this.cap * 2) this.items = this.items.slice(-this.cap);
  }

  view(): readonly T[] {
    return this.items.length > this.cap ? this.items.slice(-this.cap) : this.items;
  }

  clear(): void {
    this.items = [];
  }
}

export class StatsRecorder implements SimulatorStats {
  connections = 0;
  tasks = 0;
  private readonly recentRequests: RecentList<RecordedRequest>;
  private readonly recentCallbacks: RecentList<RecordedCallback>;
  private readonly counts = new Map<SimEndpoint | "other", number>();
  private total = 0;
  private callbackTotal = 0;

  constructor(maxRecorded: number) {
    this.recentRequests = new RecentList(maxRecorded);
    this.recentCallbacks = new RecentList(maxRecorded);
  }

  get requests(): readonly RecordedRequest[] {
    return this.recentRequests.view();
  }

  get callbacks(): readonly RecordedCallback[] {
    return this.recentCallbacks.view();
  }

  count(endpoint?: SimEndpoint | "other"): number {
    return endpoint === undefined ? this.total : (this.counts.get(endpoint) ?? 0);
  }

  recordRequest(request: RecordedRequest): void {
    this.total += 1;
    this.counts.set(request.endpoint, (this.counts.get(request.endpoint) ?? 0) + 1);
    this.recentRequests.push(request);
  }

  recordCallback(callback: RecordedCallback): void {
    this.callbackTotal += 1;
    this.recentCallbacks.push(callback);
  }

  /** What GET /__sim/stats answers: counters plus the callbacks, without request bodies (they can be large). */
  toJson(): Record<string, unknown> {
    return {
      requests: this.total,
      byEndpoint: Object.fromEntries(this.counts),
      connections: this.connections,
      tasks: this.tasks,
      callbackDeliveries: this.callbackTotal,
      callbacks: this.callbacks,
    };
  }

  reset(): void {
    this.connections = 0;
    this.tasks = 0;
    this.total = 0;
    this.callbackTotal = 0;
    this.counts.clear();
    this.recentRequests.clear();
    this.recentCallbacks.clear();
  }
}
