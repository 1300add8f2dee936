import type { FaultAction, FaultInjector, FaultRule, SimEndpoint } from "./types.js";

interface ActiveRule {
  readonly rule: FaultRule;
  remaining: number;
}

/** Rules apply in the order added; each matching request consumes one use of the first rule that matches. */
export class Faults implements FaultInjector {
  private rules: ActiveRule[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  add(rule: FaultRule): void {
    const times = rule.times ?? Infinity;
    if (!(times > 0)) throw new RangeError(`fault rule times must be > 0, got ${times}`);
    const probability = rule.probability ?? 1;
    if (!(probability >= 0 && probability <= 1)) {
      throw new RangeError(`fault rule probability must be within 0-1, got ${probability}`);
    }
    this.rules.push({ rule, remaining: times });
  }

  clear(): void {
    this.rules = [];
  }

  get size(): number {
    return this.rules.length;
  }

  /** The action for this request, consuming one use; `models` are the names the request's model goes by. */
  take(endpoint: SimEndpoint | "other", models: readonly string[]): FaultAction | undefined {
    if (this.rules.length === 0) return undefined;
    const index = this.rules.findIndex(({ rule }) => {
      if (rule.endpoint !== undefined && rule.endpoint !== endpoint) return false;
      if (rule.model !== undefined && !models.includes(rule.model)) return false;
      return rule.probability === undefined || this.random() < rule.probability;
    });
    const active = this.rules[index];
    if (active === undefined) return undefined;
    active.remaining -= 1;
    if (active.remaining <= 0) this.rules.splice(index, 1);
    return active.rule.action;
  }
}

const ENDPOINTS: readonly string[] = ["generateTask", "statusTask", "balance"];

function isStringRecord(value: unknown): value is Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((item) => typeof item === "string");
}

function parseAction(value: unknown): FaultAction | string {
  if (typeof value !== "object" || value === null) return "action must be an object";
  const action = value as Record<string, unknown>;
  switch (action.kind) {
    case "status": {
      const { status, body, headers } = action;
      if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
        return "action.status must be an HTTP status (100-599)";
      }
      if (body !== undefined && typeof body !== "string") return "action.body must be a string";
      if (headers !== undefined && !isStringRecord(headers))
        return "action.headers must map names to strings";
      return {
        kind: "status",
        status,
        ...(body === undefined ? {} : { body }),
        ...(headers === undefined ? {} : { headers }),
      };
    }
    case "delay":
      if (typeof action.ms !== "number" || !(action.ms >= 0)) return "action.ms must be a number >= 0";
      return { kind: "delay", ms: action.ms };
    case "reset":
    case "garbage":
    case "hang":
      return { kind: action.kind };
    default:
      return "action.kind must be one of: status, delay, reset, garbage, hang";
  }
}

/** Checks a rule that arrived as JSON over HTTP; returns the rule or a sentence saying what is wrong. */
export function parseFaultRule(value: unknown): FaultRule | string {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return "rule must be a JSON object";
  const { endpoint, model, times, probability, action } = value as Record<string, unknown>;
  if (endpoint !== undefined && (typeof endpoint !== "string" || !ENDPOINTS.includes(endpoint))) {
    return `endpoint must be one of: ${ENDPOINTS.join(", ")}`;
  }
  if (model !== undefined && typeof model !== "string") return "model must be a string";
  if (times !== undefined && (typeof times !== "number" || !(times > 0))) return "times must be a number > 0";
  if (
    probability !== undefined &&
    (typeof probability !== "number" || !(probability >= 0 && probability <= 1))
  ) {
    return "probability must be a number from 0 to 1";
  }
  const parsed = parseAction(action);
  if (typeof parsed === "string") return parsed;
  return {
    action: parsed,
    ...(endpoint === undefined ? {} : { endpoint: endpoint as SimEndpoint }),
    ...(model === undefined ? {} : { model }),
    ...(times === undefined ? {} : { times }),
    ...(probability === undefined ? {} : { probability }),
  };
}
