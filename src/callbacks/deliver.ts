import { request as httpRequest, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import { ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signDelivery } from "../net/webhooks.js";
import { checkTenantUrl, type ResolvedAddress, type UrlPolicy } from "./urlGuard.js";

export type DeliveryResult =
  { readonly ok: true; readonly status: number } | { readonly ok: false; readonly reason: string };

/** Connects only to addresses already checked, so DNS cannot answer differently between check and connect. */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const first = addresses[0];
    if (first === undefined) {
      callback(new Error("no checked address"), "", 4);
      return;
    }
    if (options.all === true)
      callback(
        null,
        addresses.map((a) => ({ address: a.address, family: a.family })),
      );
    else callback(null, first.address, first.family);
  };
}

export interface Delivery {
  readonly url: string;
  readonly body: Buffer;
  readonly secret: string;
  /** `webhook-id`: the same on every try of this delivery. */
  readonly id: string;
  readonly timestampSec: number;
  readonly timeoutMs: number;
  readonly taskId: string;
}

/**
 * One signed POST (Standard Webhooks headers, signing.ts) of the envelope to the tenant's URL. The URL is checked again first (DNS may have changed since
 * the submit: rebinding). Redirects are not followed (node's client never does): a 3xx is a failed try. Only a
 * 2xx counts as delivered; the answer body is drained and ignored.
 */
export async function deliverOnce(delivery: Delivery, policy: UrlPolicy): Promise<DeliveryResult> {
  const check = await checkTenantUrl(delivery.url, policy);
  if (!check.ok) return { ok: false, reason: check.message };
  const { url, addresses } = check;
  const options: RequestOptions = {
    method: "POST",
    // A fresh connection per delivery: the pinned lookup belongs to this one request.
    agent: false,
    lookup: pinnedLookup(addresses),
    headers: {
      "content-type": "application/json",
      "content-length": String(delivery.body.length),
      "user-agent": "apixo-gateway-callbacks",
      "x-apixo-gateway-task-id": delivery.taskId,
      [ID_HEADER]: delivery.id,
      [TIMESTAMP_HEADER]: String(delivery.timestampSec),
      [SIGNATURE_HEADER]: signDelivery(delivery.secret, delivery.id, delivery.timestampSec, delivery.body),
    },
  };
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: DeliveryResult): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      resolve(result);
    };
    const req = send(url, options, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.once("end", () => {
        finish(
          status >= 200 && status < 300 ? { ok: true, status } : { ok: false, reason: `HTTP ${status}` },
        );
      });
      res.once("error", () => {
        finish({ ok: false, reason: "answer interrupted" });
      });
    });
    // Bounds the whole exchange (connect, send, answer).
    const deadline = setTimeout(() => {
      req.destroy(new Error("timed out"));
    }, delivery.timeoutMs);
    req.on("error", (err) => {
      finish({ ok: false, reason: err.message });
    });
    req.end(delivery.body);
  });
}
