import { createHash, randomBytes } from "node:crypto";

/** Gateway keys look like `agw_<43 base64url chars>`: 256 random bits, recognisable in secret scanners. */
export const KEY_PREFIX = "agw_";
const KEY_SHAPE = /^agw_[A-Za-z0-9_-]{43}$/;

export function generateGatewayKey(): string {
  return KEY_PREFIX + randomBytes(32).toString("base64url");
}

export function isWellFormedKey(key: string): boolean {
  return KEY_SHAPE.test(key);
}

/** The only form in which a gateway key is stored: `sha256:<hex>`. */
export function hashGatewayKey(key: string): string {
  return `sha256:${createHash("sha256").update(key, "utf8").digest("hex")}`;
}
