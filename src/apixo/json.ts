/** Whether bytes are a JSON object: used only on the rare path where an answer was refused, to tell garbage apart. */
export function isJsonObject(body: Buffer): boolean {
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
