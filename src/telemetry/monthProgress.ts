/**
 * How far a tenant is into its calendar month (its IANA time zone), for the month-end spend projection. The
 * zone arithmetic is limits/days.ts's, handed in by the composition root: telemetry sits below limits.
 */
export interface TenantCalendar {
  /** The tenant-local date of an instant, "YYYY-MM-DD". */
  readonly localDay: (timeZone: string, atMs: number) => string;
  /** The first instant whose tenant-local date is `day` (not always local midnight). */
  readonly startOfDayMs: (timeZone: string, day: string) => number;
  /** "2026-12-31" -> "2027-01-01". */
  readonly firstOfNextMonth: (day: string) => string;
}

interface MonthWindow {
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * The share of the tenant's calendar month elapsed at an instant, in real time: a month with a DST change is
 * an hour longer or shorter, and its halfway point moves with it. Each zone's month is computed once and
 * reused until it ends (a month's bounds cost ~100 Intl calls; a scrape asks once per tenant).
 */
export class MonthProgress {
  private readonly windows = new Map<string, MonthWindow>();

  constructor(private readonly calendar: TenantCalendar) {}

  /** In [0, 1): 0 at the month's first instant, approaching 1 at its last. */
  elapsedRatio(timeZone: string, nowMs: number): number {
    const { startMs, endMs } = this.window(timeZone, nowMs);
    return Math.min(1, Math.max(0, (nowMs - startMs) / (endMs - startMs)));
  }

  private window(timeZone: string, nowMs: number): MonthWindow {
    const cached = this.windows.get(timeZone);
    if (cached !== undefined && cached.startMs <= nowMs && nowMs < cached.endMs) return cached;
    const { localDay, startOfDayMs, firstOfNextMonth } = this.calendar;
    const today = localDay(timeZone, nowMs);
    const fresh = {
      startMs: startOfDayMs(timeZone, `${today.slice(0, 7)}-01`),
      endMs: startOfDayMs(timeZone, firstOfNextMonth(today)),
    };
    this.windows.set(timeZone, fresh);
    return fresh;
  }
}
