import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestContext } from "../http/context.js";
import type { StoredAnswer, TaskRecord } from "../limits/store.js";
import { pollKey } from "../upstream/coalesce.js";
import type { ProxyDeps } from "./deps.js";
import { replay, toStored, type UpstreamAnswer } from "../upstream/transport.js";
import { earlyPollWaitMs } from "../upstream/pacing.js";
import { callProtected, type ProtectedCall } from "../upstream/protectedCall.js";

/**
 * The ways a status poll is answered without its own APIXO request: the terminal-answer cache, early-poll
 * pacing, and joining a concurrent poll of the same task.
 */

/** A finished task's answer from the ledger (status cache); false when there is none or the cache is off. */
export function answerFromCache(
  deps: ProxyDeps,
  ctx: RequestContext,
  res: ServerResponse,
  task: TaskRecord,
  cached: StoredAnswer | undefined,
): boolean {
  if (cached === undefined || !ctx.snapshot.config.upstream.protection.statusCache) return false;
  deps.events.statusCache({ hit: true });
  ctx.decisions.push("status_cache_hit");
  ctx.taskState = task.state;
  ctx.failCode = task.failCode;
  replay(res, cached, { "X-Gateway-Cache": "hit" });
  return true;
}

/** How long this task is still too young to have finished, by the pacing settings in force (0: not paced). */
function pacingWaitMs(deps: ProxyDeps, ctx: RequestContext, task: TaskRecord): number {
  return earlyPollWaitMs(ctx.snapshot.config.upstream.protection.earlyPollPacing, task, deps.clock.now());
}

/** Early-poll pacing: a poll long before the task can have finished gets the last known answer. */
export function answerPaced(
  deps: ProxyDeps,
  ctx: RequestContext,
  res: ServerResponse,
  task: TaskRecord,
  upstream: string,
): boolean {
  const waitMs = pacingWaitMs(deps, ctx, task);
  if (waitMs === 0) return false;
  const last = deps.protection.lastKnown.get(pollKey(upstream, task.model, task.taskId));
  if (last === undefined) return false;
  ctx.decisions.push("early_poll_paced");
  ctx.taskState = task.state;
  replay(res, last, {
    "X-Gateway-Cache": "paced",
    "Retry-After": String(Math.max(1, Math.ceil(waitMs / 1000))),
  });
  return true;
}

/** Keeps a non-terminal answer for pacing, while the task is still younger than its kind's minimum. */
export function rememberForPacing(
  deps: ProxyDeps,
  ctx: RequestContext,
  task: TaskRecord,
  upstream: string,
  answer: UpstreamAnswer,
): void {
  const waitMs = pacingWaitMs(deps, ctx, task);
  if (waitMs === 0 || answer.status !== 200) return;
  deps.protection.lastKnown.remember(pollKey(upstream, task.model, task.taskId), toStored(answer), waitMs);
}

/** The poll's APIXO request, shared with concurrent polls of the same task in this process when enabled. */
export function fetchStatus(
  deps: ProxyDeps,
  req: IncomingMessage,
  res: ServerResponse,
  call: ProtectedCall,
  taskId: string,
): Promise<UpstreamAnswer> {
  const ctx = deps.contexts.get(req);
  if (!ctx.snapshot.config.upstream.protection.coalescePolls || call.model === undefined) {
    return callProtected(deps, req, res, call);
  }
  const started = deps.clock.monotonicMs();
  const { promise, shared } = deps.protection.polls.run(pollKey(call.upstream, call.model, taskId), () =>
    callProtected(deps, req, res, call),
  );
  if (!shared) return promise;
  ctx.decisions.push("poll_coalesced");
  // The wait is upstream time for this request too, so its overhead is not inflated by it.
  return promise.finally(() => {
    ctx.upstreamMs += deps.clock.monotonicMs() - started;
  });
}
