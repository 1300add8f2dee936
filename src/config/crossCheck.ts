import { findModel } from "../apixo/models.js";
import { isValidTimeZone } from "../clock.js";
import { formatPath, type Path, type Reported } from "./paths.js";

/*
 * Rules that span fields: references between sections and uniqueness across tenants.
 *
 * They read the document as written (after ${VAR} interpolation), not the schema's output, so they run when
 * other parts of the file are broken too: a bad key hash and an unknown upstream alias are listed together.
 * What they do not judge:
 * - a value already reported (by the schema or as an unset variable): one wrong value, one problem;
 * - a reference into a list that is itself broken (upstream.keys missing, empty or not a list;
 *   governance.prices not a mapping): the schema names that list, and every reference would be a false alarm.
 * Names in a readable list count as targets even when their own spelling is refused (an alias "Main"), so a
 * tenant pointing at it is not reported a second time.
 */

type Mapping = Readonly<Record<string, unknown>>;

const isMapping = (value: unknown): value is Mapping =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const field = (value: unknown, key: string): unknown => (isMapping(value) ? value[key] : undefined);
const items = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);
const isString = (value: unknown): value is string => typeof value === "string";

/** The upstream aliases tenants may name, or undefined when upstream.keys cannot be read as a list. */
function upstreamAliases(document: unknown, reported: Reported): ReadonlySet<string> | undefined {
  const keys = field(field(document, "upstream"), "keys");
  if (!Array.isArray(keys) || reported.at(["upstream", "keys"])) return undefined;
  return new Set(keys.map((k) => field(k, "alias")).filter(isString));
}

/** Models the file prices itself, or undefined when governance.prices is there but not a mapping. */
function pricedModels(document: unknown): ReadonlySet<string> | undefined {
  const prices = field(field(document, "governance"), "prices");
  if (prices === undefined) return new Set();
  return isMapping(prices) ? new Set(Object.keys(prices)) : undefined;
}

interface Context {
  readonly tenants: readonly unknown[];
  /** The string at `path` when the schema accepted it; undefined when absent, refused or not a string. */
  readonly accepted: (value: unknown, path: Path) => string | undefined;
}

const at = (...path: Path): string => formatPath(path);

function duplicateTenantIds({ tenants, accepted }: Context): string[] {
  const problems: string[] = [];
  const first = new Map<string, number>();
  tenants.forEach((tenant, t) => {
    const id = accepted(field(tenant, "id"), ["tenants", t, "id"]);
    if (id === undefined) return;
    const index = first.get(id);
    if (index !== undefined)
      problems.push(`${at("tenants", t, "id")}: "${id}" is already used by tenants[${index}]`);
    else first.set(id, t);
  });
  return problems;
}

function sharedGatewayKeys({ tenants, accepted }: Context): string[] {
  const problems: string[] = [];
  const owners = new Map<string, string>();
  tenants.forEach((tenant, t) => {
    items(field(tenant, "keys")).forEach((key, k) => {
      const hash = accepted(field(key, "hash"), ["tenants", t, "keys", k, "hash"]);
      if (hash === undefined) return;
      const owner = owners.get(hash);
      if (owner !== undefined)
        problems.push(`${at("tenants", t, "keys", k, "hash")}: the same key is already listed at ${owner}`);
      else owners.set(hash, at("tenants", t, "keys", k));
    });
  });
  return problems;
}

function unknownUpstreamAliases(
  { tenants, accepted }: Context,
  aliases: ReadonlySet<string> | undefined,
): string[] {
  if (aliases === undefined) return [];
  return tenants.flatMap((tenant, t) => {
    const alias = accepted(field(tenant, "upstreamKey"), ["tenants", t, "upstreamKey"]);
    if (alias === undefined || aliases.has(alias)) return [];
    // The value is not echoed: a real key pasted here by mistake must not reach logs or the terminal.
    return [
      `${at("tenants", t, "upstreamKey")}: not an alias in upstream.keys (known: ${[...aliases].join(", ")})`,
    ];
  });
}

function invalidTimeZones({ tenants, accepted }: Context): string[] {
  return tenants.flatMap((tenant, t) => {
    const zone = accepted(field(tenant, "timeZone"), ["tenants", t, "timeZone"]);
    if (zone === undefined || isValidTimeZone(zone)) return [];
    return [`${at("tenants", t, "timeZone")}: "${zone}" is not an IANA time zone (e.g. "Europe/Berlin")`];
  });
}

function unknownModels({ tenants, accepted }: Context, priced: ReadonlySet<string> | undefined): string[] {
  if (priced === undefined) return [];
  const known = (model: string): boolean => findModel(model) !== undefined || priced.has(model);
  return tenants.flatMap((tenant, t) => {
    const problems: string[] = [];
    items(field(tenant, "allowedModels")).forEach((entry, m) => {
      const model = accepted(entry, ["tenants", t, "allowedModels", m]);
      if (model === undefined || model === "*" || known(model)) return;
      problems.push(
        `${at("tenants", t, "allowedModels", m)}: unknown model "${model}"; add it to governance.prices to use a model the gateway does not know yet`,
      );
    });
    const perModel = field(field(tenant, "limits"), "perModel");
    for (const model of isMapping(perModel) ? Object.keys(perModel) : []) {
      if (!known(model))
        problems.push(`${at("tenants", t, "limits", "perModel", model)}: unknown model "${model}"`);
    }
    const modelCaps = field(tenant, "modelDailyCapsUsd");
    for (const model of isMapping(modelCaps) ? Object.keys(modelCaps) : []) {
      if (!known(model))
        problems.push(`${at("tenants", t, "modelDailyCapsUsd", model)}: unknown model "${model}"`);
    }
    return problems;
  });
}

/** Every cross-field problem of the document (after interpolation), leaving alone what `reported` holds. */
export function crossCheck(document: unknown, reported: Reported): string[] {
  const context: Context = {
    tenants: items(field(document, "tenants")),
    accepted: (value, path) => (isString(value) && reported.clean(path) ? value : undefined),
  };
  return [
    ...duplicateTenantIds(context),
    ...unknownUpstreamAliases(context, upstreamAliases(document, reported)),
    ...invalidTimeZones(context),
    ...sharedGatewayKeys(context),
    ...unknownModels(context, pricedModels(document)),
  ];
}
