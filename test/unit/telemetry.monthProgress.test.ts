import { describe, expect, it } from "vitest";
import { firstOfNextMonth, localDay, startOfDayMs } from "../../src/limits/days.js";
import { MonthProgress } from "../../src/telemetry/monthProgress.js";

const HOUR_MS = 3_600_000;
const SECOND_MS = 1_000;
const calendar = { localDay, startOfDayMs, firstOfNextMonth };

describe("the share of a tenant's month elapsed", () => {
  // The last second of December 2026, local: in Tokyo (UTC+9) 14:59:59 UTC, in Los Angeles (PST, UTC-8)
  // 07:59:59 UTC on January 1st.
  it.each([
    ["Asia/Tokyo", Date.UTC(2026, 11, 31, 14, 59, 59)],
    ["America/Los_Angeles", Date.UTC(2027, 0, 1, 7, 59, 59)],
  ])(
    "is all but 1 at the last second of December in %s, and 0 a second later (January)",
    (zone, lastSecond) => {
      const months = new MonthProgress(calendar);
      const december = 31 * 24 * HOUR_MS;
      expect(months.elapsedRatio(zone, lastSecond)).toBeCloseTo(1 - SECOND_MS / december, 12);
      expect(months.elapsedRatio(zone, lastSecond + SECOND_MS)).toBe(0);
    },
  );

  it("is the tenant's own month: the instant Tokyo's December ends is mid-afternoon of December 31st in UTC", () => {
    const months = new MonthProgress(calendar);
    const december = 31 * 24 * HOUR_MS;
    const lastSecond = Date.UTC(2026, 11, 31, 14, 59, 59);
    expect(months.elapsedRatio("UTC", lastSecond)).toBeCloseTo(
      (december - 9 * HOUR_MS - SECOND_MS) / december,
      12,
    );
  });

  it("counts real hours: March in Los Angeles has 743 (spring forward), November 721 (fall back)", () => {
    const months = new MonthProgress(calendar);
    // March 2026 starts at 00:00 PST (08:00 UTC) and ends at 00:00 PDT on April 1st (07:00 UTC).
    const marchStart = Date.UTC(2026, 2, 1, 8);
    expect(months.elapsedRatio("America/Los_Angeles", marchStart)).toBe(0);
    // 12:00 PDT on March 16th: 15 days and 11 real hours in (the 8th had 23).
    expect(months.elapsedRatio("America/Los_Angeles", Date.UTC(2026, 2, 16, 19))).toBeCloseTo(371 / 743, 12);
    // November 2026 starts at 00:00 PDT (07:00 UTC); the 1st has 25 hours.
    expect(months.elapsedRatio("America/Los_Angeles", Date.UTC(2026, 10, 1, 9))).toBeCloseTo(2 / 721, 12);
  });

  it("follows the clock into the next month with the same instance (the cached month ends)", () => {
    const months = new MonthProgress(calendar);
    const midJanuary = Date.UTC(2026, 0, 16, 12);
    expect(months.elapsedRatio("UTC", midJanuary)).toBeCloseTo((15.5 * 24) / (31 * 24), 12);
    // February 2026 has 28 days.
    expect(months.elapsedRatio("UTC", Date.UTC(2026, 1, 15))).toBeCloseTo(14 / 28, 12);
    // And back: a clock set back (a test's, or NTP) is answered from its own month, not the cached one.
    expect(months.elapsedRatio("UTC", midJanuary)).toBeCloseTo((15.5 * 24) / (31 * 24), 12);
  });
});
