import { randomBytes } from "node:crypto";

/**
 * A callback token is `<tenantId>.<32 random bytes, base64url>`: unguessable (256 bits), and it names the
 * tenant so the route record is found under the tenant's own keys. It is the only secret in the gateway
 * callback URL APIXO receives.
 */
const TOKEN = /^([a-z0-9][a-z0-9_-]{0,62})\.([A-Za-z0-9_-]{43})$/;

export function newToken(tenantId: string): string {
  return `${tenantId}.${randomBytes(32).toString("base64url")}`;
}

export function tenantOfToken(token: string): string | undefined {
  return TOKEN.exec(token)?.[1];
}

export function gatewayCallbackUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl.replace(/\/+$/, "")}/callbacks/apixo/${token}`;
}
