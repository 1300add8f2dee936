import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { configSchema, type GatewayConfig } from "./schema.js";
import { crossCheck } from "./crossCheck.js";

/** Every problem found in a configuration, each with the path it applies to. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(`${source}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** `tenants[2].keys[0].hash`: the path style users see in every message. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out === "" ? "(root)" : out;
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` inside string values only, after YAML parsing, so a secret's
 * content can never change the document's structure.
 */
export function interpolate(value: unknown, env: Env, path: PropertyKey[], problems: string[]): unknown {
  if (typeof value === "string") {
    return value.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== "") return found;
      if (fallback !== undefined) return fallback;
      problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
      return "";
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, [...path, i], problems));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      out[key] = interpolate(item, env, [...path, key], problems);
    return out;
  }
  return value;
}

function zodProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
}

/** Parses and validates YAML text; throws ConfigError listing every problem, never just the first. */
export function parseConfig(text: string, env: Env, source = "config"): GatewayConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `YAML syntax: ${e.message.split("\n")[0] ?? e.message}`),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(source, ["(root): the file must be a YAML mapping"]);
  }
  const problems: string[] = [];
  const interpolated = interpolate(raw, env, [], problems);
  const result = configSchema.safeParse(interpolated);
  if (result.success) problems.push(...crossCheck(result.data));
  else problems.push(...zodProblems(result.error));
  if (problems.length > 0 || !result.success) throw new ConfigError(source, [...new Set(problems)]);
  return result.data;
}

export async function loadConfigFile(path: string, env: Env = process.env): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(path, [`cannot read the file: ${reason}`]);
  }
  return parseConfig(text, env, path);
}
