interface PendingRefund {
  readonly dueAt: number;
  readonly micros: number;
}

/**
 * Prepaid balances per key, in integer micro-USD so repeated charges never drift.
 * A failed task's refund is due at its completeTime; it is applied lazily whenever a balance is observed, so the
 * balance moves exactly when the task is seen as failed, with no timers.
 */
export class Accounts {
  private readonly balances = new Map<string, number>();
  private readonly refunds = new Map<string, PendingRefund[]>();

  constructor(private readonly startingUsd: Readonly<Record<string, number>>) {
    this.reset();
  }

  reset(): void {
    this.balances.clear();
    this.refunds.clear();
    for (const [key, usd] of Object.entries(this.startingUsd)) this.balances.set(key, Math.round(usd * 1e6));
  }

  has(key: string): boolean {
    return this.balances.has(key);
  }

  /** Deducts `micros` unless that would take the balance below zero; false means "Insufficient balance". */
  charge(key: string, micros: number, nowMs: number): boolean {
    let balance = this.balances.get(key);
    if (balance === undefined) return false;
    if (micros > balance) balance = this.settle(key, nowMs);
    if (micros > balance) return false;
    this.balances.set(key, balance - micros);
    return true;
  }

  refundAt(key: string, dueAt: number, micros: number): void {
    const list = this.refunds.get(key);
    if (list === undefined) this.refunds.set(key, [{ dueAt, micros }]);
    else list.push({ dueAt, micros });
  }

  balanceMicros(key: string, nowMs: number): number | undefined {
    return this.balances.has(key) ? this.settle(key, nowMs) : undefined;
  }

  private settle(key: string, nowMs: number): number {
    let balance = this.balances.get(key) ?? 0;
    const list = this.refunds.get(key);
    if (list === undefined) return balance;
    const later: PendingRefund[] = [];
    for (const refund of list) {
      if (refund.dueAt <= nowMs) balance += refund.micros;
      else later.push(refund);
    }
    this.balances.set(key, balance);
    if (later.length === 0) this.refunds.delete(key);
    else this.refunds.set(key, later);
    return balance;
  }
}
