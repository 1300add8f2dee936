import { isSaneTaskId } from "../apixo/answers.js";
import { GatewayError } from "../errors/catalog.js";

/**
 * The query strings of the governed endpoints, read strictly. statusTask documents one parameter, `taskId`
 * (shared/reference/apixo-api.md); generateTask and current-balance document none. The gateway forwards a
 * query it builds itself (governedRoutes.ts `upstreamTarget`), so what it refuses here is every query whose
 * meaning could differ between the gateway and APIXO: whether APIXO reads the first or the last of two
 * `taskId`s, splits on `;`, folds case or expands `taskId[]` is unknown, and any of those would let a caller
 * pass the ownership check with one task id and have APIXO read another.
 *
 * Written by hand rather than with a query-string library: every library resolves these ambiguities one way
 * (first value wins, `;` is or is not a separator, brackets become arrays); the gateway must refuse them instead.
 */

/** Enough for any honest statusTask query; the rest are refused before looking at them one by one. */
const MAX_PARAMETERS = 8;
/** Decoded characters that separate or escape parts of a query: inside a task id they mean double decoding. */
const ENCODED_SEPARATOR = /[&=;?#%]/;
/** A parameter name is quoted back only when it is short and plain; anything else is described, never echoed. */
const QUOTABLE_NAME = /^[A-Za-z0-9_.-]{1,32}$/;

function invalid(message: string): GatewayError {
  return new GatewayError("INVALID_REQUEST", message);
}

/** A query for an endpoint that takes none: refused rather than dropped, so no parameter is silently lost. */
export function assertNoQuery(query: string | undefined, endpoint: string): void {
  if (query === undefined || query === "") return;
  throw invalid(
    `${endpoint} takes no query parameters (APIXO documents none); send the path without a query.`,
  );
}

/** The one taskId of a statusTask query, decoded; throws INVALID_REQUEST saying what is wrong. */
export function statusTaskId(query: string | undefined): string {
  if (query === undefined || query === "") throw missingTaskId();
  if (query.includes(";")) {
    throw invalid(
      "Query parameters are separated by '&' only; a ';' is read as a separator by some servers.",
    );
  }
  if (query.includes("+")) {
    throw invalid("A '+' in the query is ambiguous (form decoding reads it as a space); write it as %2B.");
  }
  const parameters = query.split("&");
  if (parameters.length > MAX_PARAMETERS) {
    throw invalid(
      `Too many query parameters (${parameters.length}); statusTask takes exactly one: taskId=<task id>.`,
    );
  }
  const values: (string | undefined)[] = [];
  for (const parameter of parameters) {
    const equals = parameter.indexOf("=");
    const name = equals === -1 ? parameter : parameter.slice(0, equals);
    checkName(name);
    values.push(equals === -1 ? undefined : parameter.slice(equals + 1));
  }
  if (values.length > 1) throw invalid(`taskId is given ${values.length} times; send it once.`);
  return decodeTaskId(values[0]);
}

function missingTaskId(): GatewayError {
  return invalid("The taskId query parameter is required: ?taskId=<task id>.");
}

/** Every name but exactly `taskId` is refused, with the reason a person would need to fix it. */
function checkName(name: string): void {
  if (name === "taskId") return;
  if (name === "") throw invalid("The query has an empty parameter (a stray '&' or '=').");
  if (name.includes("[") || name.includes("]")) {
    throw invalid(
      "Bracketed parameter names (like taskId[]) are read differently by different servers; send taskId=<id> once.",
    );
  }
  if (name.includes("%")) throw invalid("Query parameter names must be written plainly, without %-escapes.");
  if (name.toLowerCase() === "taskid") {
    throw invalid("Query parameter names are case-sensitive: write taskId exactly.");
  }
  const which = QUOTABLE_NAME.test(name) ? `'${name}'` : "the others";
  throw invalid(`statusTask takes only the taskId parameter (APIXO documents no other); remove ${which}.`);
}

function decodeTaskId(raw: string | undefined): string {
  if (raw === undefined || raw === "") throw missingTaskId();
  let taskId: string;
  try {
    taskId = decodeURIComponent(raw);
  } catch {
    throw invalid("The taskId holds a malformed %-escape.");
  }
  if (ENCODED_SEPARATOR.test(taskId)) {
    throw invalid(
      "The taskId holds an encoded separator (%26, %3D, %3B, %3F, %23 or %25); task ids hold none.",
    );
  }
  if (!isSaneTaskId(taskId)) throw invalid("The taskId must be 1-200 visible ASCII characters.");
  return taskId;
}
