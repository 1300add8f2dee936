import type { Harness } from "./gatewayHarness.js";

/** A client's view of one answer: status, headers and the exact bytes. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Buffer;
  json(): { data?: { taskId?: string; state?: string } | null; error?: { type: string }; message?: string };
}

async function raw(response: Response): Promise<RawAnswer> {
  const bytes = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    headers: response.headers,
    bytes,
    json: () => JSON.parse(bytes.toString("utf8")) as ReturnType<RawAnswer["json"]>,
  };
}

export async function submitTask(h: Harness, tenant: string, model = "nano-banana"): Promise<RawAnswer> {
  return raw(
    await fetch(`${h.url}/api/v1/generateTask/${model}`, {
      method: "POST",
      headers: { ...h.auth(tenant), "content-type": "application/json" },
      body: JSON.stringify({ input: { prompt: "a lighthouse at dusk" } }),
    }),
  );
}

/** Submits and returns the task id, failing the test if APIXO did not accept it. */
export async function newTask(h: Harness, tenant: string, model = "nano-banana"): Promise<string> {
  const answer = await submitTask(h, tenant, model);
  const taskId = answer.json().data?.taskId;
  if (answer.status !== 200 || taskId === undefined) {
    throw new Error(`submit failed: ${answer.status} ${answer.bytes.toString("utf8")}`);
  }
  return taskId;
}

export async function pollTask(
  h: Harness,
  tenant: string,
  taskId: string,
  model = "nano-banana",
): Promise<RawAnswer> {
  return raw(
    await fetch(`${h.url}/api/v1/statusTask/${model}?taskId=${taskId}`, { headers: h.auth(tenant) }),
  );
}

/** The value of one series (exact label match) from the gateway's registry; 0 when absent. */
export async function metricValue(h: Harness, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await h.gateway.registry.getSingleMetric(`apixo_gateway_${name}`)?.get();
  const series = metric?.values.find((v) =>
    Object.entries(labels).every(([k, value]) => String(v.labels[k]) === value),
  );
  return series?.value ?? 0;
}
