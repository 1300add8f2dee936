import { errorReply, invalidRequest, successReply } from "./envelope.js";
import type { Reply } from "./envelope.js";
import { parseFaultRule } from "./faults.js";
import type { Faults } from "./faults.js";
import type { StatsRecorder } from "./stats.js";

export const CONTROL_PREFIX = "/__sim/";

export interface ControlContext {
  readonly faults: Faults;
  readonly stats: StatsRecorder;
  reset(): void;
}

/**
 * Lets a test drive a simulator that runs as a separate process. No API key is asked for: the simulator is a
 * loopback test tool, and these calls are not recorded in stats so they never skew what a test counts.
 */
export function handleControl(ctx: ControlContext, method: string, pathname: string, body: Buffer): Reply {
  if (method === "GET" && pathname === "/__sim/stats") {
    return successReply(ctx.stats.toJson());
  }
  if (method === "POST" && pathname === "/__sim/reset") {
    ctx.reset();
    return successReply(null);
  }
  if (method === "POST" && pathname === "/__sim/faults") {
    let value: unknown;
    try {
      value = JSON.parse(body.toString("utf8"));
    } catch {
      return invalidRequest("Request body is not valid JSON");
    }
    if (typeof value === "object" && value !== null && (value as Record<string, unknown>).clear === true) {
      ctx.faults.clear();
      return successReply({ rules: 0 });
    }
    const rule = parseFaultRule(value);
    if (typeof rule === "string") return invalidRequest(rule);
    ctx.faults.add(rule);
    return successReply({ rules: ctx.faults.size });
  }
  return errorReply(404, `Not found: ${method} ${pathname}`);
}
