import { createHmac, timingSafeEqual } from "node:crypto";

/** Header names of a signed delivery to a tenant (docs/callbacks.md). */
export const TIMESTAMP_HEADER = "X-Apixo-Gateway-Timestamp";
export const SIGNATURE_HEADER = "X-Apixo-Gateway-Signature";
const SCHEME = "sha256=";

/**
 * `sha256=` + hex HMAC-SHA256 over `<timestamp>.<body>`, keyed with the tenant's secret. The timestamp (Unix
 * seconds) is inside the MAC so a receiver can refuse old replays; the body is the exact bytes sent.
 */
export function signDelivery(secret: string, timestampSec: number, body: Buffer): string {
  const mac = createHmac("sha256", secret);
  mac.update(`${timestampSec}.`);
  mac.update(body);
  return SCHEME + mac.digest("hex");
}

/** What a receiver does (and the documented snippet mirrors): recompute, compare in constant time, check age. */
export function verifyDelivery(
  secret: string,
  timestampHeader: string,
  signatureHeader: string,
  body: Buffer,
  nowSec: number,
  toleranceSec = 300,
): boolean {
  const timestampSec = Number(timestampHeader);
  if (!/^\d{1,12}$/.test(timestampHeader) || Math.abs(nowSec - timestampSec) > toleranceSec) return false;
  const expected = Buffer.from(signDelivery(secret, timestampSec, body));
  const offered = Buffer.from(signatureHeader);
  return expected.length === offered.length && timingSafeEqual(expected, offered);
}
