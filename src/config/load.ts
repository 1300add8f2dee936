import { readFile } from "node:fs/promises";
import { parseDocument, type YAMLError } from "yaml";
import type { z } from "zod";
import { configSchema, type GatewayConfig } from "./schema.js";
import { crossCheck } from "./crossCheck.js";
import { formatPath, Reported, type Path } from "./paths.js";

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

/** A problem and the path it belongs to, so later checks can leave a value already reported alone. */
export interface PathProblem {
  readonly path: Path;
  readonly message: string;
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` inside string values only, after YAML parsing, so a secret's
 * content can never change the document's structure.
 */
export function interpolate(value: unknown, env: Env, path: Path, problems: PathProblem[]): unknown {
  if (typeof value === "string") {
    return value.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== "") return found;
      if (fallback !== undefined) return fallback;
      problems.push({ path, message: `environment variable ${name} is not set` });
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

/** ` at line 2, column 31:` and the code excerpt that `prettyErrors` appends; the position is given once. */
const POSITION_SUFFIX = / at line \d+, column \d+:?$/;

/**
 * The first syntax error only: YAML's parser recovers token by token, so one unquoted `${VAR}` in a flow map
 * turns into dozens of errors on the lines after it, none of them the cause.
 */
function syntaxProblem(error: YAMLError, text: string): string {
  const first = (error.message.split("\n")[0] ?? error.message).replace(POSITION_SUFFIX, "");
  const at = error.linePos?.[0];
  const where = at === undefined ? "" : `line ${at.line}, column ${at.col}: `;
  const line = at === undefined ? "" : (text.split("\n")[at.line - 1] ?? "");
  // `{` and `}` are flow indicators: `key: ${VAR}` is fine in a block mapping but breaks `{ key: ${VAR} }`.
  const hint = /(^|[\s,:[{])\$\{/.test(line)
    ? '; inside { } or [ ] a ${VAR} value needs quotes: key: "${VAR}"'
    : "";
  return `${where}YAML syntax: ${first}${hint} (nothing else is checked until the file parses)`;
}

/** One problem per path: an unset variable explains its empty value, the schema need not say it again. */
function schemaProblems(error: z.ZodError | undefined, reported: ReadonlySet<string>): PathProblem[] {
  if (error === undefined) return [];
  return error.issues
    .map((issue) => ({ path: issue.path.filter((s) => typeof s !== "symbol"), message: issue.message }))
    .filter((p) => !reported.has(formatPath(p.path)));
}

function yamlDocument(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  const syntax = doc.errors[0];
  if (syntax !== undefined) throw new ConfigError(source, [syntaxProblem(syntax, text)]);
  try {
    return doc.toJS();
  } catch (err) {
    // toJS throws for an alias without its anchor and for alias expansion past yaml's limit ("billion laughs").
    throw new ConfigError(source, [`YAML: ${err instanceof Error ? err.message : String(err)}`]);
  }
}

/**
 * Parses and validates YAML text; throws ConfigError listing every problem, never just the first: unset
 * variables, schema problems and cross-checks together, each once, each with its path.
 */
export function parseConfig(text: string, env: Env, source = "config"): GatewayConfig {
  const raw = yamlDocument(text, source);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(source, ["(root): the file must be a YAML mapping"]);
  }
  const unset: PathProblem[] = [];
  const interpolated = interpolate(raw, env, [], unset);
  const result = configSchema.safeParse(interpolated);
  const schema = schemaProblems(result.error, new Set(unset.map((p) => formatPath(p.path))));
  const reported = new Reported([...unset, ...schema].map((p) => p.path));
  const problems = [...unset, ...schema]
    .map((p) => `${formatPath(p.path)}: ${p.message}`)
    .concat(crossCheck(interpolated, reported));
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
