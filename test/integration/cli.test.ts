import { execFile } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { hashGatewayKey, isWellFormedKey } from "../../src/tenants/keys.js";
import { REPO, spawnCli, type CliProcess } from "../helpers/cli.js";

const run = promisify(execFile);
const FIXTURES = join(REPO, "test/fixtures/config");

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let demo: CliProcess | undefined;
afterEach(async () => {
  await demo?.stop();
  demo = undefined;
});

describe("apixo-gateway keys create", () => {
  it("prints a new key once and the hash line that matches it", async () => {
    const { code, stdout } = await cli(["keys", "create", "--tenant", "acme", "--label", "ci"]);
    expect(code).toBe(0);
    const key = /^\s+(agw_\S+)$/m.exec(stdout)?.[1];
    expect(key).toBeDefined();
    expect(isWellFormedKey(key!)).toBe(true);
    expect(stdout).toContain(`- hash: ${hashGatewayKey(key!)}`);
    expect(stdout.split(key!).length).toBe(2);
  });
});

describe("apixo-gateway config check", () => {
  it("exits 0 for a valid file", async () => {
    const result = await cli(["config", "check", join(FIXTURES, "valid.yaml")], { APIXO_API_KEY: "sk-x" });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("valid");
  });

  it("exits 1 and lists every problem with its path", async () => {
    const result = await cli(["config", "check", join(FIXTURES, "invalid/many-problems.yaml")]);
    expect(result.code).toBe(1);
    for (const path of ["server.port", "upstream.baseUrl", "tenants[0].keys", "tenants[2].keys[0].hash"]) {
      expect(result.stderr).toContain(path);
    }
  });
});

describe("npm run demo", () => {
  it("prints curl commands that submit a task, poll it to success and read the balance", async () => {
    demo = spawnCli(["demo", "--port", "0"]);
    await demo.waitFor(/Press Ctrl-C to stop/);
    const text = demo.stdout.join("\n");
    const submitBlock = /(TASK_ID=\$\(curl[\s\S]*?echo "task \$TASK_ID")/.exec(text)?.[1];
    const pollLine = /^\s+(curl -s "[^"]+statusTask[^\n]+)$/m.exec(text)?.[1];
    const balanceLine = /^\s+(curl -s "[^"]+current-balance[^\n]+)$/m.exec(text)?.[1];
    expect(submitBlock).toBeDefined();
    expect(pollLine).toBeDefined();
    expect(balanceLine).toBeDefined();
    // The demo's tasks take about 4 s: poll until the printed command shows success.
    const script = [
      submitBlock!.replace(/\n\s+/g, "\n"),
      "for i in $(seq 1 40); do",
      `  out=$(${pollLine!.replace(/; echo$/, "")})`,
      '  case "$out" in *\\"state\\":\\"success\\"*) echo "$out"; break;; esac',
      "  sleep 0.25",
      "done",
      balanceLine!,
    ].join("\n");
    const { stdout } = await run("bash", ["-c", script], { cwd: REPO });
    expect(stdout).toMatch(/^task [0-9a-f]{32}$/m);
    expect(stdout).toContain('"state":"success"');
    expect(stdout).toContain('"resultUrls');
    expect(stdout).toContain('{"code":200,"message":"success","data":4.97}');
  }, 30_000);

  it("says which port is busy instead of crashing when the gateway's port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const result = await cli(["demo", "--port", String(port)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Port ${port} is in use`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
