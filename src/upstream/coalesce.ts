/**
 * Concurrent callers with the same key share one piece of work (one APIXO request) in this process. The
 * entry lives only while the work runs, so a later caller always gets fresh work, never a stale result.
 */
export class Coalescer<T> {
  private readonly pending = new Map<string, Promise<T>>();

  /** `shared` is true for callers that joined work someone else started. */
  run(key: string, work: () => Promise<T>): { readonly promise: Promise<T>; readonly shared: boolean } {
    const running = this.pending.get(key);
    if (running !== undefined) return { promise: running, shared: true };
    const promise = work().finally(() => this.pending.delete(key));
    this.pending.set(key, promise);
    return { promise, shared: false };
  }
}

/**
 * The poll key: upstream alias, model and task id. Callers reach here only after the ledger showed the task
 * is theirs, and a task id belongs to one tenant, so a shared answer never crosses tenants.
 */
export function pollKey(upstream: string, model: string, taskId: string): string {
  return JSON.stringify([upstream, model, taskId]);
}
