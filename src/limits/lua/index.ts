import { LUA_AUDIT } from "./audit.js";
import { LUA_RECONCILE_MONTH } from "./spend.js";
import { LUA_ADMIT_SUBMIT } from "./submit.js";
import {
  LUA_ADMIT_SIMPLE,
  LUA_ADMIT_STATUS,
  LUA_GET_TASK,
  LUA_MARK_ORPHANS,
  LUA_MARK_UNKNOWN,
  LUA_RECORD_TASK,
  LUA_RELEASE,
  LUA_SETTLE,
  LUA_SWEEP,
} from "./tasks.js";

/** Every script the Redis store defines on its client, by command name (prefixed to avoid clashes). */
export const SCRIPTS = {
  agwAdmitSubmit: LUA_ADMIT_SUBMIT,
  agwAdmitStatus: LUA_ADMIT_STATUS,
  agwAdmitSimple: LUA_ADMIT_SIMPLE,
  agwRecordTask: LUA_RECORD_TASK,
  agwRelease: LUA_RELEASE,
  agwMarkUnknown: LUA_MARK_UNKNOWN,
  agwMarkOrphans: LUA_MARK_ORPHANS,
  agwGetTask: LUA_GET_TASK,
  agwSettle: LUA_SETTLE,
  agwSweep: LUA_SWEEP,
  agwAudit: LUA_AUDIT,
  agwReconcileMonth: LUA_RECONCILE_MONTH,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
