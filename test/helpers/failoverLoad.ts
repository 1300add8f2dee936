import { expect } from "vitest";
import { GENEROUS_LIMITS } from "./gatewayHarness.js";
import { eventually, PRICE_MICROS, type Answer, type MoneyStack } from "./moneyHarness.js";

/** A tenant whose daily cap fits exactly `tasks` submits, with limits that let a load reach the cap. */
export function cappedTenant(id: string, tasks: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    dailyCapUsd: (tasks * PRICE_MICROS + PRICE_MICROS / 2) / 1e6,
    limits: { ...GENEROUS_LIMITS, maxInFlight: 1000 },
    ...extra,
  };
}

/** What a steady mix of submits and polls saw while a Redis failover happened under it. */
export interface LoadRecord {
  readonly submits: Answer[];
  readonly polls: (Answer & { readonly state: string | undefined })[];
  /** Task ids a client got a 200 for. */
  readonly accepted: string[];
}

/**
 * Submits and polls of one tenant through every process in turn, a few at a time, until `stop` resolves: the
 * load a failover must not turn into lost money. Polls ask for tasks already accepted.
 */
export async function steadyLoad(
  stack: MoneyStack,
  tenantId: string,
  stop: Promise<void>,
  options: { readonly concurrency?: number; readonly pauseMs?: number } = {},
): Promise<LoadRecord> {
  const record: LoadRecord = { submits: [], polls: [], accepted: [] };
  let stopped = false;
  void stop.then(() => (stopped = true));
  let turn = 0;
  const worker = async (): Promise<void> => {
    while (!stopped) {
      const url = stack.urls[turn++ % stack.urls.length] ?? "";
      const answer = await stack.submit(tenantId, { url });
      record.submits.push(answer);
      if (answer.status === 200 && answer.taskId !== undefined) record.accepted.push(answer.taskId);
      const known = record.accepted[turn % Math.max(1, record.accepted.length)];
      if (known !== undefined) {
        const other = stack.urls[turn % stack.urls.length] ?? "";
        record.polls.push(await stack.poll(tenantId, known, other).catch(() => failedPoll));
      }
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 20));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return record;
}

const failedPoll = { status: 0, type: "connection_failed", taskId: undefined, state: undefined };

/** Every status a list of answers holds, with how often: for a failing assertion's message. */
export function statusCounts(answers: readonly Answer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}

/**
 * The ledger after a failover: every process ready again (healed without a restart), every task a client was
 * given pollable through every process, the tenant charged exactly once per task APIXO accepted (the journal
 * applied what the outage held back), and never more than its cap.
 */
export async function assertFailoverLedger(
  stack: MoneyStack,
  tenantId: string,
  record: LoadRecord,
  expected: { readonly acceptedByApixo: () => number; readonly capMicros: number },
): Promise<void> {
  const ready = async (): Promise<boolean> => {
    const statuses = await Promise.all(stack.urls.map(async (url) => (await fetch(`${url}/readyz`)).status));
    return statuses.every((status) => status === 200);
  };
  await eventually(ready, 30_000);
  const accepted = expected.acceptedByApixo();
  expect(accepted).toBeGreaterThan(0);
  expect(record.accepted.length).toBeLessThanOrEqual(accepted);
  await eventually(
    async () => (await stack.probe.spentMicros(tenantId)) === accepted * PRICE_MICROS,
    30_000,
  ).catch(() => undefined);
  expect(await stack.probe.spentMicros(tenantId)).toBe(accepted * PRICE_MICROS);
  expect(accepted * PRICE_MICROS).toBeLessThanOrEqual(expected.capMicros);
  const unpollable: string[] = [];
  for (const taskId of record.accepted) {
    for (const url of stack.urls) {
      const poll = await stack.poll(tenantId, taskId, url);
      if (poll.status !== 200) unpollable.push(`${taskId} via ${url}: ${poll.status} ${poll.type ?? ""}`);
    }
  }
  expect(unpollable).toEqual([]);
  expect(await stack.probe.problems(tenantId)).toEqual([]);
}
