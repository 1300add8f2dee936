import { parseStatusAnswer } from "../apixo/answers.js";
import type { Clock } from "../clock.js";
import { GatewayError } from "../errors/catalog.js";
import type { TenantPolicy } from "../tenants/policy.js";
import type { Snapshot } from "../tenants/snapshot.js";
import { StoreUnavailable } from "../limits/store.js";
import type { GatewayEvents } from "../telemetry/events.js";
import type { Logger } from "../telemetry/logger.js";
import { replaceCallbackUrl } from "./rewrite.js";
import type { CallbackStore } from "./store.js";
import { gatewayCallbackUrl, newToken, tenantOfToken } from "./token.js";
import { checkTenantUrl, type HostResolver } from "./urlGuard.js";
import { urlPolicyOf, type CallbackWorker } from "./worker.js";

/** A callback-mode submit: the body to forward, and the route to keep in step with APIXO's answer. */
export interface CallbackSubmit {
  /** The client's bytes with callback_url replaced by the gateway's URL (docs/callbacks.md). */
  readonly body: Buffer;
  /** Before forwarding: a callback can arrive before APIXO's answer to the submit does. */
  remember(): Promise<void>;
  /** APIXO refused the submit: no callback will come. */
  forget(): Promise<void>;
  /** APIXO accepted: the route now belongs to this task. */
  bind(taskId: string): Promise<void>;
}

export interface CallbackServiceDeps {
  readonly store: CallbackStore;
  readonly worker: CallbackWorker;
  readonly events: GatewayEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly resolve: HostResolver;
}

const invalid = (message: string): GatewayError => new GatewayError("INVALID_REQUEST", message);

function unavailable(err: unknown): GatewayError {
  return new GatewayError(
    "LIMITS_UNAVAILABLE",
    "The gateway cannot record callbacks right now; retry shortly.",
    {
      retryAfterSec: 1,
      cause: err,
    },
  );
}

/** Callback mode's two ends: the submit (tenant URL checked, swapped) and APIXO's call back to the gateway. */
export class CallbackService {
  constructor(private readonly deps: CallbackServiceDeps) {}

  async prepare(
    snapshot: Snapshot,
    policy: TenantPolicy,
    model: string,
    tenantUrl: string | undefined,
    body: Buffer,
  ): Promise<CallbackSubmit> {
    const { callbacks, governance } = snapshot.config;
    const tenantId = policy.tenant.id;
    if (callbacks.publicBaseUrl === undefined) {
      throw invalid(
        'request_type "callback" is not enabled on this gateway (callbacks.publicBaseUrl is not set); ' +
          'use "async" and poll statusTask.',
      );
    }
    if (policy.tenant.callbackSecret === undefined) {
      throw invalid(
        `request_type "callback" needs a callbackSecret for tenant '${tenantId}'; ask your platform team.`,
      );
    }
    if (tenantUrl === undefined) throw invalid('callback_url is required when request_type is "callback".');
    const check = await checkTenantUrl(tenantUrl, urlPolicyOf(snapshot, this.deps.resolve));
    if (!check.ok) throw new GatewayError("INVALID_REQUEST", check.message);
    const token = newToken(tenantId);
    const rewritten = replaceCallbackUrl(body, gatewayCallbackUrl(callbacks.publicBaseUrl, token));
    if (rewritten === undefined) throw invalid("callback_url must be a top-level string field of the body.");
    const { store, logger } = this.deps;
    const ttlSec = governance.ledgerTtlHours * 3600;
    const logged = (operation: string) => (err: unknown) => {
      logger.error(
        { event: "callback_store_failed", operation, tenant: tenantId, err: String(err) },
        "callback store",
      );
    };
    return {
      body: rewritten,
      remember: async () => {
        try {
          await store.saveRoute({ token, tenantId, model, tenantUrl }, ttlSec);
        } catch (err) {
          throw unavailable(err);
        }
      },
      forget: () => store.dropRoute(tenantId, token).catch(logged("drop_route")),
      bind: (taskId) => store.bindTask(tenantId, token, taskId).catch(logged("bind_task")),
    };
  }

  /**
   * APIXO's call back for callback-mode tasks (POST /callbacks/apixo/:token, src/http/callbackRoute.ts): the
   * unguessable token is the credential. Queued in the store and answered at once; the worker confirms,
   * settles and delivers. Throws the client's error (404 for an unknown token, in the envelope).
   */
  async accept(
    snapshot: Snapshot,
    token: string,
    readBody: () => Promise<Buffer>,
    note: (facts: { readonly taskId?: string; readonly decision: string }) => void,
  ): Promise<void> {
    const tenantId = tenantOfToken(token);
    const known = tenantId !== undefined && snapshot.policy(tenantId) !== undefined ? tenantId : undefined;
    const reject = (error: GatewayError): GatewayError => {
      note({ decision: "callback_rejected" });
      this.deps.events.callbackFinished({ tenant: known, outcome: "rejected", durationMs: 0 });
      return error;
    };
    const notFound = (): GatewayError => reject(new GatewayError("NOT_FOUND", "No such callback."));
    if (known === undefined) throw notFound();
    const { callbacks, governance } = snapshot.config;
    const body = await readBody();
    try {
      const route = await this.deps.store.getRoute(known, token);
      if (route === null) throw notFound();
      const claimed = parseStatusAnswer(200, body);
      // The token is the proof; a body about another task is not this route's callback.
      if (route.taskId !== undefined && claimed.ok && claimed.taskId !== route.taskId) throw notFound();
      if (!claimed.ok && !callbacks.confirmWithStatus) {
        throw reject(invalid(`The callback body is not a status envelope: ${claimed.reason}.`));
      }
      const job = { id: token, tenantId: known, callbackBody: body.toString("utf8") };
      const queued = await this.deps.store.enqueue(job, governance.ledgerTtlHours * 3600);
      note({
        ...(route.taskId === undefined ? {} : { taskId: route.taskId }),
        decision: queued ? "callback_queued" : "callback_duplicate",
      });
      if (queued) this.deps.worker.wake();
    } catch (err) {
      throw err instanceof StoreUnavailable ? unavailable(err) : err;
    }
  }
}
