import { generateGatewayKey, hashGatewayKey } from "../tenants/keys.js";

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
