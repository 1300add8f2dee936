import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { startRedisServer } from "./redisServer.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** One shared redis-server for the run unless REDIS_URL names one; tests isolate by a unique key prefix. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== "") {
    project.provide("redisUrl", fromEnv);
    return () => Promise.resolve();
  }
  const server = await startRedisServer();
  project.provide("redisUrl", server.url);
  return () => server.stop();
}
