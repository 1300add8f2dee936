import express from "express";
import type { Request, Response } from "express";
import type { Clock } from "../clock.js";
import { GatewayError } from "../errors/catalog.js";
import type { Snapshot } from "../tenants/snapshot.js";
import {
  checkTenantDay,
  defaultOrphanAfterMs,
  isDayName,
  isReservationId,
  listReservations,
  nothingToRelease,
  releaseById,
  tenantOf,
  todayOf,
  type LedgerOpsDeps,
} from "../ledger/operations.js";
import type { GovernanceStore } from "../limits/store.js";
import type { Logger } from "../telemetry/logger.js";

export interface LedgerRoutesDeps {
  readonly store: GovernanceStore;
  readonly snapshot: () => Snapshot;
  readonly clock: Clock;
  readonly logger?: Logger;
}

type TenantRequest<P = object> = Request<{ id: string } & P>;

/** One query value given at most once, or undefined. */
export function single(raw: unknown, name: string): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "string") {
    throw new GatewayError("INVALID_REQUEST", `Query parameter '${name}' may be given once.`);
  }
  return raw;
}

function parseDay(raw: unknown, fallback: string): string {
  const day = single(raw, "day");
  if (day === undefined) return fallback;
  if (!isDayName(day)) {
    throw new GatewayError("INVALID_REQUEST", "Query parameter 'day' must be a calendar day, YYYY-MM-DD.");
  }
  return day;
}

function parseOrphanAfterMs(raw: unknown, fallbackMs: number): number {
  const value = single(raw, "orphanAfterSeconds");
  if (value === undefined) return fallbackMs;
  if (!/^\d{1,9}(\.\d{1,3})?$/.test(value)) {
    throw new GatewayError(
      "INVALID_REQUEST",
      "Query parameter 'orphanAfterSeconds' must be a non-negative number of seconds.",
    );
  }
  return Math.round(Number(value) * 1000);
}

/**
 * The ledger routes of the admin API (mounted behind its authentication): reservations, the ledger check, and
 * the one route that changes state, an operator's release of a reservation. Same logic as `apixo-gateway
 * ledger` (src/ledger/operations.ts).
 */
export function createLedgerRoutes(deps: LedgerRoutesDeps): express.Router {
  const router = express.Router();

  /** The ops deps of the current config, or a 404 for a tenant it does not name. */
  const opsFor = (tenantId: string) => {
    const { config } = deps.snapshot();
    const tenant = tenantOf(config, tenantId);
    if (tenant === undefined) {
      throw new GatewayError("NOT_FOUND", `No tenant '${tenantId}' in the current configuration.`);
    }
    const ops: LedgerOpsDeps = { store: deps.store, config, clock: deps.clock };
    return { ops, tenant };
  };

  router.get("/tenants/:id/reservations", async (req: TenantRequest, res: Response) => {
    const { ops } = opsFor(req.params.id);
    const reservations = await listReservations(ops, req.params.id);
    res.json({ tenantId: req.params.id, asOf: new Date(deps.clock.now()).toISOString(), reservations });
  });

  router.get("/tenants/:id/ledger-check", async (req: TenantRequest, res: Response) => {
    const { ops, tenant } = opsFor(req.params.id);
    const day = parseDay(req.query.day, todayOf(tenant, deps.clock));
    const orphanAfterMs = parseOrphanAfterMs(req.query.orphanAfterSeconds, defaultOrphanAfterMs(ops.config));
    res.json(await checkTenantDay(ops, tenant.id, day, orphanAfterMs));
  });

  router.post(
    "/tenants/:id/reservations/:reservationId/release",
    async (req: TenantRequest<{ reservationId: string }>, res: Response) => {
      const { id, reservationId } = req.params;
      const { ops } = opsFor(id);
      if (!isReservationId(reservationId)) {
        throw new GatewayError(
          "INVALID_REQUEST",
          "A reservation id is 1-128 letters, digits, '.', '_', ':' or '-', as the reservations route lists it.",
        );
      }
      const outcome = await releaseById(ops, id, reservationId);
      if (!outcome.released) throw new GatewayError("NOT_FOUND", nothingToRelease(id, reservationId));
      // An operator's decision about money: one line per release, for the audit trail.
      deps.logger?.warn(
        {
          event: "reservation_released_by_operator",
          tenant: id,
          reservationId,
          day: outcome.reservation.day,
          costUsd: outcome.reservation.costUsd,
          state: outcome.reservation.state,
          reason: outcome.reservation.reason,
        },
        "an operator released a reservation through the admin API",
      );
      res.json(outcome);
    },
  );

  return router;
}
