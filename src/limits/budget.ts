/**
 * Budget windows and attribution: what caps a submit is checked against and who inside a tenant the money was
 * spent for (docs/budgets.md). Part of the store's vocabulary (store.ts re-exports it).
 */

/**
 * The spend windows a submit is checked against. `daily` and `monthly` are the tenant's calendar day and month
 * in its time zone; `model_daily` is the day's spend on the request's model; `user_daily` the day's spend of
 * the end user named by the request's X-Gateway-User (never applied to a request without one).
 */
export const CAP_WINDOWS = ["daily", "monthly", "model_daily", "user_daily"] as const;
export type CapWindow = (typeof CAP_WINDOWS)[number];

export function isCapWindow(value: string): value is CapWindow {
  return (CAP_WINDOWS as readonly string[]).includes(value);
}

export interface CapSpec {
  readonly window: CapWindow;
  readonly capMicros: number;
}

/** Who inside a tenant spent the money (X-Gateway-User, X-Gateway-Feature): validated, never forwarded. */
export interface Attribution {
  readonly user?: string;
  readonly feature?: string;
}

/** The calendar month a tenant-local day belongs to: "2026-12-31" -> "2026-12". */
export function monthOf(day: string): string {
  return day.slice(0, 7);
}

/** Net spend and tasks charged of one user or feature in one period. */
export interface UsageFigures {
  readonly spentMicros: number;
  /** Tasks charged (admissions not released; a refund keeps the task counted). */
  readonly tasks: number;
}

/** What a tenant spent in one period (a day "YYYY-MM-DD" or a month "YYYY-MM"), and who spent it. */
export interface UsageRollup {
  readonly period: string;
  /** The tenant's net spend of the period, attributed or not. */
  readonly spentMicros: number;
  readonly byUser: Readonly<Record<string, UsageFigures>>;
  readonly byFeature: Readonly<Record<string, UsageFigures>>;
}
