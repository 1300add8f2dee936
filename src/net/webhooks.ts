import { createHash, createHmac } from "node:crypto";

/**
 * Deliveries to tenants are signed the Standard Webhooks way (https://www.standardwebhooks.com), so a tenant
 * verifies them with an existing library in any language (docs/callbacks.md). The scheme is one HMAC-SHA256
 * that node:crypto computes natively; the `standardwebhooks` package is used by the tests to prove a receiver's
 * library accepts what is sent here, not at run time (it brings a pure-JS SHA-256).
 */
export const ID_HEADER = "webhook-id";
export const TIMESTAMP_HEADER = "webhook-timestamp";
export const SIGNATURE_HEADER = "webhook-signature";

const WHSEC = "whsec_";
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MIN_KEY_BYTES = 16;
/** Visible ASCII only, so UTF-8 and the byte-per-character "raw" mode of the libraries agree on the key. */
const RAW_SECRET = /^[\x21-\x7e]{16,}$/;

/**
 * The HMAC key a tenant's `callbackSecret` stands for, or undefined when the secret is not usable:
 * - `whsec_<base64>` (the Standard Webhooks form): the decoded bytes, at least 16;
 * - anything else: at least 16 visible ASCII characters, used as the key bytes themselves (what the libraries
 *   call a raw secret; its `whsec_` form is `whsec_` + base64 of the string).
 */
export function webhookKey(secret: string): Buffer | undefined {
  if (secret.startsWith(WHSEC)) {
    const encoded = secret.slice(WHSEC.length);
    if (!STRICT_BASE64.test(encoded)) return undefined;
    const key = Buffer.from(encoded, "base64");
    return key.length >= MIN_KEY_BYTES ? key : undefined;
  }
  return RAW_SECRET.test(secret) ? Buffer.from(secret, "ascii") : undefined;
}

/**
 * The `webhook-id` of the one delivery a callback route makes: derived from the route's token, so every retry
 * and every replica sends the same id (the receiver's idempotency key) with nothing stored. Hashed so the
 * token, which is the credential of the gateway's callback URL, never reaches the tenant.
 */
export function webhookId(token: string): string {
  const digest = createHash("sha256").update("apixo-gateway webhook-id\0").update(token).digest();
  return `msg_${digest.subarray(0, 24).toString("base64url")}`;
}

/** `v1,` + base64 HMAC-SHA256 over `<id>.<timestamp>.<body>` with the tenant's key; the body as sent. */
export function signDelivery(secret: string, id: string, timestampSec: number, body: Buffer): string {
  const key = webhookKey(secret);
  // The config refuses such a secret at load time: reaching here is a bug, not a tenant's mistake.
  if (key === undefined) throw new Error("callbackSecret is not a usable signing key");
  const mac = createHmac("sha256", key).update(`${id}.${timestampSec}.`).update(body).digest("base64");
  return `v1,${mac}`;
}
