import { findModel } from "./models.js";

/** The canonical id of a model name (aliases resolve), or the name itself for models the table does not know. */
export function canonicalModel(name: string): string {
  return findModel(name)?.id ?? name;
}
