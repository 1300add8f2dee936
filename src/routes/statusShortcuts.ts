import type { StoredAnswer, TaskRecord } from "../limits/store.js";
import { pollKey } from "../upstream/coalesce.js";
import { earlyPollWaitMs } from "../upstream/pacing.js";
import { toStored, type UpstreamAnswer } from "../upstream/transport.js";
import type { RequestContext } from "./context.js";
import type { RouteDeps } from "./deps.js";
import type { Reply } from "./reply.js";

/**
 * The ways a status poll is answered without its own APIXO request: the terminal-answer cache and early-poll
 * pacing (joining a concurrent poll of the same task is the upstream client's coalescing).
 */

/** A finished task's answer from the ledger (status cache); undefined when there is none or the cache is off. */
export function answerFromCache(
  deps: RouteDeps,
  ctx: RequestContext,
  task: TaskRecord,
  cached: StoredAnswer | undefined,
): Reply | undefined {
  if (cached === undefined || !ctx.snapshot.config.upstream.protection.statusCache) return undefined;
  deps.events.statusCache({ hit: true });
  ctx.facts.decisions.push("status_cache_hit");
  ctx.facts.cacheStatus = "hit";
  ctx.facts.taskState = task.state;
  ctx.facts.failCode = task.failCode;
  return { kind: "stored", answer: cached, headers: { "X-Gateway-Cache": "hit" } };
}

/** How long this task is still too young to have finished, by the pacing settings in force (0: not paced). */
function pacingWaitMs(deps: RouteDeps, ctx: RequestContext, task: TaskRecord): number {
  return earlyPollWaitMs(ctx.snapshot.config.upstream.protection.earlyPollPacing, task, deps.clock.now());
}

/** Early-poll pacing: a poll long before the task can have finished gets the last known answer. */
export function answerPaced(
  deps: RouteDeps,
  ctx: RequestContext,
  task: TaskRecord,
  upstream: string,
): Reply | undefined {
  const waitMs = pacingWaitMs(deps, ctx, task);
  if (waitMs === 0) return undefined;
  const last = deps.lastKnown.get(pollKey(upstream, task.model, task.taskId));
  if (last === undefined) return undefined;
  ctx.facts.decisions.push("early_poll_paced");
  ctx.facts.taskState = task.state;
  const retryAfter = String(Math.max(1, Math.ceil(waitMs / 1000)));
  return { kind: "stored", answer: last, headers: { "X-Gateway-Cache": "paced", "Retry-After": retryAfter } };
}

/** Keeps a non-terminal answer for pacing, while the task is still younger than its kind's minimum. */
export function rememberForPacing(
  deps: RouteDeps,
  ctx: RequestContext,
  task: TaskRecord,
  upstream: string,
  answer: UpstreamAnswer,
): void {
  const waitMs = pacingWaitMs(deps, ctx, task);
  if (waitMs === 0 || answer.status !== 200) return;
  deps.lastKnown.remember(pollKey(upstream, task.model, task.taskId), toStored(answer), waitMs);
}
