import type { CapSpec, CapWindow, UsageFigures, UsageRollup } from "./store.js";

/**
 * The cap rule and the rollup field names, for the memory store; lua/spend.ts holds the same rule for Redis
 * (`check_caps`, `add_usage`) and the contract suite holds the two to each other.
 */

export interface CapCheck {
  /** The smallest budget left after the cost over the caps that apply; null when none does. */
  readonly remainingMicros: number | null;
  /** The first cap (in request order) the cost does not fit in. */
  readonly over: {
    readonly window: CapWindow;
    readonly capMicros: number;
    readonly spentMicros: number;
  } | null;
}

/** `spentIn` answers what a window has spent, or null when the cap does not apply (no user). */
export function checkCaps(
  caps: readonly CapSpec[],
  costMicros: number,
  spentIn: (window: CapWindow) => number | null,
): CapCheck {
  let remainingMicros: number | null = null;
  let over: CapCheck["over"] = null;
  for (const cap of caps) {
    const spentMicros = spentIn(cap.window);
    if (spentMicros === null) continue;
    const left = cap.capMicros - spentMicros - costMicros;
    if (left < 0 && over === null) over = { window: cap.window, capMicros: cap.capMicros, spentMicros };
    if (remainingMicros === null || left < remainingMicros) remainingMicros = left;
  }
  return { remainingMicros, over };
}

/** A usage hash's field names: spend `u:<user>` / `f:<feature>`, tasks charged `u#:<user>` / `f#:<feature>`. */
export function usageField(tag: "u" | "f", name: string, counter: "spend" | "tasks"): string {
  return counter === "spend" ? `${tag}:${name}` : `${tag}#:${name}`;
}

/** Rollup figures from a usage hash's fields (see usageField). */
export function rollupsFrom(
  fields: Iterable<readonly [string, string | number]>,
): Pick<UsageRollup, "byUser" | "byFeature"> {
  const byUser: Record<string, UsageFigures> = {};
  const byFeature: Record<string, UsageFigures> = {};
  for (const [field, value] of fields) {
    const colon = field.indexOf(":");
    const tag = field.slice(0, colon);
    const into = tag.startsWith("u") ? byUser : byFeature;
    const name = field.slice(colon + 1);
    const figures = into[name] ?? { spentMicros: 0, tasks: 0 };
    into[name] = tag.endsWith("#")
      ? { ...figures, tasks: Number(value) }
      : { ...figures, spentMicros: Number(value) };
  }
  return { byUser, byFeature };
}
