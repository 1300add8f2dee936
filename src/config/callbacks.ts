import { z } from "zod";
import { webhookKey } from "../net/webhooks.js";
import { isAllowListEntry } from "../net/addresses.js";

/** A tenant's callbackSecret: a Standard Webhooks `whsec_` secret or a raw one (callbacks/signing.ts). */
export const callbackSecretSchema = z
  .string()
  .refine(
    (secret) => webhookKey(secret) !== undefined,
    "must be whsec_ followed by base64 of at least 16 bytes, or at least 16 visible ASCII characters",
  );

/** An `allowPrivateNetworks` list (callbacks, media URLs): exceptions to the public-addresses-only rule. */
export const privateNetworksSchema = z
  .array(z.string().refine(isAllowListEntry, "must be a CIDR, an IP address or a host name"))
  .default([]);

/**
 * `callbacks`: callback-mode tasks (docs/callbacks.md). APIXO calls the gateway at `publicBaseUrl`; the gateway
 * confirms, settles and relays the outcome, signed, to the tenant's own callback_url.
 */
const delivery = z.strictObject({
  /** One POST to the tenant's URL, connect to last byte. */
  timeoutMs: z.int().positive().default(5_000),
  /** Tries in all (first one included) before a delivery counts as failed. */
  attempts: z.int().positive().max(50).default(6),
  /** Backoff before try n+1: min(maxDelayMs, baseDelayMs * 2^(n-1)), then jittered to 50-100 %. */
  baseDelayMs: z.int().positive().default(1_000),
  maxDelayMs: z.int().positive().default(60_000),
});

export const callbacksSchema = z
  .strictObject({
    /** The gateway's externally reachable base URL (APIXO calls `<publicBaseUrl>/callbacks/apixo/<token>`). */
    publicBaseUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Re-read the task with statusTask before trusting a callback (APIXO does not sign callbacks). */
    confirmWithStatus: z.boolean().default(true),
    /** Accept http:// tenant callback URLs (development only). */
    allowHttp: z.boolean().default(false),
    /** CIDRs, addresses or host names tenant callback URLs may reach although they are not public. */
    allowPrivateNetworks: privateNetworksSchema,
    delivery: delivery.prefault({}),
    /** How often the worker looks for due deliveries (a callback arriving wakes it at once). */
    workerPollMs: z.int().positive().default(1_000),
    /** Largest APIXO callback body read, in bytes. */
    bodyLimitBytes: z.int().positive().default(262_144),
  })
  .prefault({});

export type CallbacksConfig = z.infer<typeof callbacksSchema>;
