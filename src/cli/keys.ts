import { InvalidArgumentError } from "commander";
import { tenantIdSchema } from "../config/schema.js";
import { generateGatewayKey, hashGatewayKey } from "../tenants/keys.js";

/** Commander parser for `--tenant`: the schema's own rule, so no key is made for an id the config refuses. */
export function parseTenantId(value: string): string {
  const result = tenantIdSchema.safeParse(value);
  if (result.success) return result.data;
  throw new InvalidArgumentError(result.error.issues[0]?.message ?? "is not a valid tenant id");
}

/** Prints the key once, to stdout; only its hash belongs in the config file. */
export function keysCreateCommand(options: { tenant: string; label?: string }): void {
  const key = generateGatewayKey();
  const label = options.label ?? `created ${new Date().toISOString().slice(0, 10)}`;
  process.stdout.write(
    [
      `Gateway key for tenant '${options.tenant}' (shown once; store it in your secret manager):`,
      "",
      `  ${key}`,
      "",
      `Add this under tenants[id=${options.tenant}].keys in the gateway config, then reload (SIGHUP):`,
      "",
      `      - hash: ${hashGatewayKey(key)}`,
      `        label: ${JSON.stringify(label)}`,
      "",
    ].join("\n"),
  );
}
