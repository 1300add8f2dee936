import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, describe, expect, it } from "vitest";
import { otelTracer } from "../../src/telemetry/tracer.js";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
});

describe("the upstream client span", () => {
  it("names the URL the transport sends to: the base URL's path kept, the query as sent", () => {
    const tracer = otelTracer();
    const span = tracer.upstream(
      "https://apixo.internal:8443/relay/",
      { method: "GET", path: "/api/v1/statusTask/flux2", query: "taskId=task_1" },
      { operation: "status", model: "flux2", resendCount: 0 },
    );
    tracer.end(span);
    const [finished] = exporter.getFinishedSpans();
    expect(finished?.attributes["url.full"]).toBe(
      "https://apixo.internal:8443/relay/api/v1/statusTask/flux2?taskId=task_1",
    );
    expect(finished?.attributes["server.address"]).toBe("apixo.internal");
    expect(finished?.attributes["server.port"]).toBe(8443);
  });
});
