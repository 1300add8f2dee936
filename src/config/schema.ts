import { z } from "zod";
import { priceOverridesSchema } from "../apixo/prices.js";
import { protectionSchema } from "./protection.js";
import { redisTopologySchema } from "./redis.js";
import { callbackSecretSchema, callbacksSchema, privateNetworksSchema } from "./callbacks.js";

/**
 * The gateway's one configuration file, validated at start and on every SIGHUP reload.
 * Documented field by field in config/gateway.example.yaml; defaults here are what that file says.
 */

/** store.commandTimeoutMs's default: how long Redis may send nothing before a store call fails. */
export const DEFAULT_SILENCE_MS = 500;

const SHA256_HASH = /^sha256:[0-9a-f]{64}$/;
const ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The one tenant id rule: the config's tenants[].id and `keys create --tenant` both use it. */
export const tenantIdSchema = z
  .string()
  .regex(ID, "must be 1-63 characters of a-z, 0-9, _ or -, starting with a letter or digit");

const bucket = z.strictObject({
  ratePerSec: z.number().positive(),
  burst: z.int().positive(),
});

const limits = z
  .strictObject({
    submit: bucket.default({ ratePerSec: 5, burst: 10 }),
    status: bucket.default({ ratePerSec: 50, burst: 100 }),
    balance: bucket.default({ ratePerSec: 2, burst: 10 }),
    /** Extra buckets per model for submit, applied together with `submit`. */
    perModel: z.record(z.string(), bucket).default({}),
    /** Tasks submitted and not yet seen to finish; null for no cap. */
    maxInFlight: z.int().positive().nullable().default(100),
  })
  .default({
    submit: { ratePerSec: 5, burst: 10 },
    status: { ratePerSec: 50, burst: 100 },
    balance: { ratePerSec: 2, burst: 10 },
    perModel: {},
    maxInFlight: 100,
  });

const unpriced = z.union([z.literal("reject"), z.strictObject({ chargeUsd: z.number().nonnegative() })]);

const tenantKey = z.strictObject({
  hash: z.string().regex(SHA256_HASH, 'must be "sha256:" followed by 64 lowercase hex digits'),
  label: z.string().optional(),
});

const tenant = z.strictObject({
  id: tenantIdSchema,
  name: z.string().min(1).optional(),
  enabled: z.boolean().default(true),
  keys: z.array(tenantKey).min(1, "a tenant needs at least one gateway key"),
  upstreamKey: z.string().min(1),
  /** Model ids (or "*") this tenant may use. */
  allowedModels: z.array(z.string().min(1)).min(1).default(["*"]),
  timeZone: z.string().default("UTC"),
  /** Daily spend cap in USD in the tenant's time zone; null for no cap. */
  dailyCapUsd: z.number().nonnegative().nullable().default(null),
  /** Hard cap on the calendar month's spend in USD in the tenant's time zone; null for no cap. */
  monthlyCapUsd: z.number().nonnegative().nullable().default(null),
  /** Daily caps in USD on one model's spend (model id -> USD), checked with the others. */
  modelDailyCapsUsd: z.record(z.string(), z.number().nonnegative()).default({}),
  /** Daily cap in USD per end user (X-Gateway-User); a request without the header is not subject to it. */
  userDailyCapUsd: z.number().nonnegative().nullable().default(null),
  unpricedModels: unpriced.default("reject"),
  limits,
  /** Signs callback deliveries to this tenant (Standard Webhooks; docs/callbacks.md), from ${ENV}. */
  callbackSecret: callbackSecretSchema.optional(),
});

const upstreamKey = z.strictObject({
  alias: z.string().regex(ID, "must be 1-63 characters of a-z, 0-9, _ or -"),
  key: z.string().min(1, "is empty: set the environment variable it names"),
});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default("127.0.0.1"),
      port: z.int().min(0).max(65535).default(8080),
      /** Metrics and admin API: a separate port, never the public one. */
      metricsPort: z.int().min(0).max(65535).default(9464),
      metricsHost: z.string().default("127.0.0.1"),
      bodyLimitBytes: z.int().positive().default(1_048_576),
      keepAliveTimeoutMs: z.int().positive().default(65_000),
      /** Slow clients (slowloris): a request's headers must arrive within this, from its first byte. */
      headersTimeoutMs: z.int().positive().default(10_000),
      /** Slow bodies: the whole request, body included, must arrive within this, from its first byte. */
      requestTimeoutMs: z.int().positive().default(30_000),
      shutdownGraceMs: z.int().positive().default(15_000),
      /** Extra `/api/...` path prefixes to forward untouched (no governance); empty by default. */
      allowedPaths: z.array(z.string().startsWith("/api/")).default([]),
    })
    .refine((s) => s.headersTimeoutMs <= s.requestTimeoutMs, {
      message: "headersTimeoutMs must not exceed requestTimeoutMs (the headers are part of the request)",
      path: ["headersTimeoutMs"],
    })
    .prefault({}),
  upstream: z
    .strictObject({
      baseUrl: z.url({ protocol: /^https?$/ }).default("https://api.apixo.ai"),
      connectTimeoutMs: z.int().positive().default(5_000),
      /** Whole upstream exchange, headers and body. */
      timeoutMs: z.int().positive().default(30_000),
      maxSockets: z.int().positive().default(256),
      /**
       * An idle pooled connection to APIXO is closed after this long: below the keep-alive of a typical
       * upstream or load balancer (often 5 s), so a submit is never written onto a connection the other side
       * dropped. An upstream's own `Keep-Alive: timeout=N` hint shortens it further.
       */
      idleSocketTimeoutMs: z.int().positive().default(4_000),
      keys: z.array(upstreamKey).min(1, "at least one upstream key is needed"),
      /** Account budgets, status cache, coalescing, retries, circuit breaker (see protection.ts). */
      protection: protectionSchema,
    })
    .superRefine((value, ctx) => {
      const seen = new Set<string>();
      value.keys.forEach((k, i) => {
        if (seen.has(k.alias)) {
          ctx.addIssue({
            code: "custom",
            path: ["keys", i, "alias"],
            message: `duplicate alias "${k.alias}"`,
          });
        }
        seen.add(k.alias);
      });
    }),
  store: z
    .strictObject({
      kind: z.enum(["memory", "redis"]).default("memory"),
      /** Shorthand for `redis: { topology: single, url }` (the older form). */
      redisUrl: z.string().optional(),
      /** Which Redis: single, sentinel or cluster (config/redis.ts, docs/scaling.md). */
      redis: redisTopologySchema.optional(),
      keyPrefix: z.string().min(1).default("agw"),
      /**
       * The memory store refuses admissions (as a store that is down: failurePolicy applies) while it holds
       * this many records; ~1.3 KB each (docs/benchmarks.md). Records of accepted tasks are always kept.
       */
      memoryMaxRecords: z.int().positive().default(1_000_000),
      /**
       * A store command fails when Redis has sent nothing at all for this long (a stalled, paused or
       * unreachable server). A busy Redis that keeps answering never trips it (src/limits/silence.ts).
       */
      commandTimeoutMs: z.int().positive().default(DEFAULT_SILENCE_MS),
      failurePolicy: z.enum(["fail-closed", "fail-open"]).default("fail-closed"),
      /** Admissions one process has out to the store at once; more wait for a turn. */
      maxConcurrentCalls: z.int().positive().default(256),
      /** Admissions that may wait for a turn; past this the gateway sheds load (503 OVERLOADED). */
      maxQueuedCalls: z.int().nonnegative().default(4096),
      /** The write-behind journal for ledger writes the store cannot take (src/ledger/journal.ts). */
      journal: z
        .strictObject({
          maxEntries: z.int().positive().default(100_000),
          /** A file per process that keeps the journal across a crash; unset: memory only. */
          path: z.string().min(1).optional(),
        })
        .prefault({}),
    })
    .prefault({})
    .refine((s) => s.kind !== "redis" || s.redis !== undefined || (s.redisUrl ?? "") !== "", {
      message: "store.kind is redis but neither store.redis nor store.redisUrl is set",
      path: ["redis"],
    })
    .refine((s) => s.redis === undefined || s.redis.replicaAckTimeoutMs < s.commandTimeoutMs, {
      message: "must be below store.commandTimeoutMs (a write waiting for replicas is not a silent Redis)",
      path: ["redis", "replicaAckTimeoutMs"],
    })
    .refine((s) => s.redis === undefined || s.redisUrl === undefined, {
      message: "set store.redis or store.redisUrl, not both",
      path: ["redisUrl"],
    }),
  governance: z
    .strictObject({
      ledgerTtlHours: z.number().positive().default(168),
      taskMaxAgeMinutes: z.number().positive().default(60),
      idempotencyTtlHours: z.number().positive().default(24),
      /**
       * How often each process looks for reservations nobody settled (a gateway that died mid-submit) and
       * marks them unknown; 0 turns the sweep off.
       */
      orphanSweepSeconds: z.number().nonnegative().default(60),
      refundFailedTasks: z.boolean().default(true),
      /** failCodes whose tasks are not refunded even when refunds are on. */
      noRefundFailCodes: z.array(z.string()).default([]),
      /** Overrides and additions to the built-in price table (see docs/pricing.md). */
      prices: priceOverridesSchema.default({}),
      /** URLs in a submit's `input` that APIXO fetches (image_urls, ...): networks allowed although not public. */
      mediaUrls: z.strictObject({ allowPrivateNetworks: privateNetworksSchema }).prefault({}),
    })
    .prefault({}),
  logging: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
      /**
       * Audit lines are gathered and written to stdout in blocks of this many bytes (0: one write per line).
       * Read at start; a crash that skips the exit handlers (SIGKILL, OOM kill) loses what the buffer held.
       */
      auditBufferBytes: z.number().int().min(0).max(1_000_000).default(8192),
      /** The longest an audit line waits in the buffer before it is written. */
      auditFlushMs: z.number().int().min(10).max(60_000).default(1000),
    })
    .prefault({}),
  telemetry: z
    .strictObject({
      /** Drop the tenant label from metrics (deployments with thousands of tenants). */
      tenantLabel: z.boolean().default(true),
      /** How often upstream_balance_usd asks APIXO for each upstream key's balance; 0 turns the poll off. */
      balancePollSeconds: z.number().nonnegative().default(60),
      /**
       * Share by which the estimated spend (price table) and the spend observed from APIXO balance drops may
       * differ over an hour before ApixoGatewayCostDrift fires (exported as cost_drift_threshold_ratio).
       */
      costDriftShare: z.number().positive().max(10).default(0.2),
      /**
       * X-Gateway-Feature values that may become the `feature` label of feature_spend_usd_total; any other
       * value is counted as "other", none as "none" (labels stay bounded; users are never labels).
       */
      featureLabels: z
        .array(z.string().regex(/^[\x21-\x7e]{1,128}$/))
        .max(100)
        .default([]),
    })
    .prefault({}),
  admin: z
    .strictObject({
      /** Bearer token for the read-only admin API on the metrics port; unset disables the admin API. */
      token: z.string().min(16, "must be at least 16 characters").optional(),
    })
    .prefault({}),
  callbacks: callbacksSchema,
  tenants: z.array(tenant).min(1, "at least one tenant is needed"),
});

export type GatewayConfig = z.infer<typeof configSchema>;
export type TenantConfig = GatewayConfig["tenants"][number];
export type BucketConfig = z.infer<typeof bucket>;
