/**
 * The bad-input table (test/integration/badInput.test.ts): requests a client probing the gateway would send to
 * the three governed endpoints and the callback receiver. Every one must get a 4xx in the envelope with a useful
 * message, reach nothing upstream and reserve nothing. The cases live in ./badInput/, one file per kind.
 */
import type { BadCase } from "./badInput/kit.js";
import { pathCases } from "./badInput/paths.js";
import { methodCases } from "./badInput/methods.js";
import { queryCases } from "./badInput/queries.js";
import { headerCases } from "./badInput/headers.js";
import { bodyCases } from "./badInput/bodies.js";
import { protocolCases } from "./badInput/protocol.js";
import { callbackCases } from "./badInput/callback.js";

export { GOOD_BODY, type BadCase, type CaseContext } from "./badInput/kit.js";

export const BAD_CASES: readonly BadCase[] = [
  ...pathCases,
  ...methodCases,
  ...queryCases,
  ...headerCases,
  ...bodyCases,
  ...protocolCases,
  ...callbackCases,
];
