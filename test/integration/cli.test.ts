import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, inject, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { hashGatewayKey, isWellFormedKey } from "../../src/tenants/keys.js";
import { REPO, spawnCli, type CliProcess } from "../helpers/cli.js";

const run = promisify(execFile);
const FIXTURES = join(REPO, "test/fixtures/config");

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      // A command that should have exited but hangs fails here, not at the test's timeout.
      timeout: 20_000,
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

/** A port something else listens on, for the duration of `body`. */
async function withBusyPort<T>(body: (port: number) => Promise<T>): Promise<T> {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  try {
    return await body((blocker.address() as AddressInfo).port);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
}

function configFile(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "agw-cli-")), "gateway.yaml");
  writeFileSync(path, yaml);
  return path;
}

function serveConfig(server: { port: number; metricsPort: number }, store = "{ kind: memory }"): string {
  return configFile(
    [
      `server: { port: ${server.port}, metricsPort: ${server.metricsPort} }`,
      `store: ${store}`,
      "upstream:",
      "  keys: [{ alias: main, key: sk-test }]",
      "tenants:",
      "  - id: acme",
      `    keys: [{ hash: "sha256:${"0".repeat(63)}1" }]`,
      "    upstreamKey: main",
      "",
    ].join("\n"),
  );
}

/** The one line every command prints for a taken port: no stack, nothing else on stderr. */
function expectBusyPortHint(result: { code: number; stderr: string }, port: number, howToMove: string): void {
  expect(result.code).toBe(1);
  expect(result.stderr.trimEnd().split("\n")).toEqual([
    `Port ${port} is in use: run it on another one, e.g. ${howToMove}`,
  ]);
}

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

  it("accepts exactly the tenant ids the config accepts, and makes no key for the others", async () => {
    const valid = readFileSync(join(FIXTURES, "valid.yaml"), "utf8");
    const configAccepts = (id: string): boolean => {
      try {
        parseConfig(valid.replace(/^(\s+- id: ).+$/m, `$1${JSON.stringify(id)}`), { APIXO_API_KEY: "sk-x" });
        return true;
      } catch {
        return false;
      }
    };
    for (const id of ["bad tenant!", "Acme", "-acme", "a".repeat(64), "a".repeat(63), "acme_2-b"]) {
      const { code, stdout, stderr } = await cli(["keys", "create", "--tenant", id]);
      expect(code === 0, id).toBe(configAccepts(id));
      if (code === 0) continue;
      expect(stdout, id).not.toContain("agw_");
      expect(stderr, id).toContain(
        "must be 1-63 characters of a-z, 0-9, _ or -, starting with a letter or digit",
      );
    }
  });
});

describe("apixo-gateway --version", () => {
  const version = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string })
    .version;

  it("prints package.json's version when run from source", async () => {
    const result = await cli(["--version"]);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it("prints the version of the package.json next to the build, read when it runs", async () => {
    // The layout of the npm package and the image: package.json, dist/, node_modules/.
    const root = mkdtempSync(join(tmpdir(), "agw-dist-"));
    try {
      const tsc = join(REPO, "node_modules/typescript/bin/tsc");
      await run(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", join(root, "dist")], {
        cwd: REPO,
      });
      const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as Record<string, unknown>;
      writeFileSync(join(root, "package.json"), JSON.stringify({ ...pkg, version: "9.8.7-test" }));
      symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"));
      const { stdout } = await run(process.execPath, [join(root, "dist/cli/main.js"), "--version"]);
      expect(stdout).toBe("9.8.7-test\n");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("a busy port gets one line saying so, not a stack, and a failing exit code", () => {
  it("serve: the gateway port, named by its config field", async () => {
    await withBusyPort(async (port) => {
      const file = serveConfig({ port, metricsPort: 0 });
      expectBusyPortHint(
        await cli(["serve", "--config", file]),
        port,
        `set server.port: ${port + 1} in ${file}`,
      );
    });
  });

  it("serve: the metrics port, named by its config field", async () => {
    await withBusyPort(async (port) => {
      const file = serveConfig({ port: 0, metricsPort: port });
      const result = await cli(["serve", "--config", file]);
      expectBusyPortHint(result, port, `set server.metricsPort: ${port + 1} in ${file}`);
    });
  });

  it("serve with a Redis store: exits instead of hanging on the connection it opened", async () => {
    await withBusyPort(async (port) => {
      const file = serveConfig(
        { port, metricsPort: 0 },
        `{ kind: redis, redisUrl: "${inject("redisUrl")}" }`,
      );
      expectBusyPortHint(
        await cli(["serve", "--config", file]),
        port,
        `set server.port: ${port + 1} in ${file}`,
      );
    });
  });

  it("simulate", async () => {
    await withBusyPort(async (port) => {
      const result = await cli(["simulate", "--port", String(port)]);
      expectBusyPortHint(result, port, `apixo-gateway simulate --port ${port + 1}`);
    });
  });

  it("demo: the simulator port", async () => {
    await withBusyPort(async (port) => {
      const result = await cli(["demo", "--port", "0", "--simulator-port", String(port)]);
      expectBusyPortHint(result, port, `npm run demo -- --simulator-port ${port + 1}`);
    });
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

  it("lists schema problems and cross-checks together, and serve refuses to start with the same list", async () => {
    const file = join(FIXTURES, "invalid/schema-and-cross-check.yaml");
    const check = await cli(["config", "check", file]);
    const serve = await cli(["serve", "--config", file]);
    for (const result of [check, serve]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("5 problem(s)");
      expect(result.stderr).toContain('tenants[0].keys[0].hash: must be "sha256:"');
      expect(result.stderr).toContain("tenants[0].upstreamKey: not an alias in upstream.keys (known: main)");
    }
  });

  it("counts one YAML syntax error and one unset variable as one problem each", async () => {
    for (const fixture of ["unquoted-placeholder-in-flow-map.yaml", "missing-env.yaml"]) {
      const result = await cli(["config", "check", join(FIXTURES, "invalid", fixture)], {
        APIXO_API_KEY: "sk-x",
      });
      expect(result.code, fixture).toBe(1);
      expect(result.stderr, fixture).toContain(": 1 problem(s)\n");
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

    // The usage view through the admin API, with the token made for the run, on the printed metrics port.
    const adminLine = /^\s+(curl -s "[^"]+\/admin\/tenants" [^\n]+)$/m.exec(text)?.[1];
    const usageLine = /^\s+(curl -s "[^"]+\/admin\/tenants\/demo\/usage[^\n]+)$/m.exec(text)?.[1];
    expect(text).toMatch(/^\s+export APIXO_GATEWAY_ADMIN_TOKEN=\S{16,}$/m);
    const admin = await run("bash", ["-c", `${adminLine ?? "false"}\n${usageLine ?? "false"}`], {
      cwd: REPO,
    });
    expect(admin.stdout).toContain('"tenantId":"demo"');
    expect(admin.stdout).toContain('"spentUsd":0.03');
    // And as `usage`'s tables, read through the admin API (the demo's store lives in its process).
    const usageCli = /^\s+(APIXO_GATEWAY_ADMIN_TOKEN=\S+ .* usage --admin-url \S+ --tenant demo)$/m.exec(
      text,
    )?.[1];
    const tables = await run("bash", ["-c", usageCli ?? "false"], { cwd: REPO });
    expect(tables.stdout).toMatch(/^Tenant demo \(time zone UTC\), last 7 day\(s\)$/m);
    expect(tables.stdout).toMatch(/^TOTAL\s+\$0\.03/m);
    // Who spent it: the printed submit named its end user and feature (X-Gateway-User, X-Gateway-Feature).
    const byUser = /^\s+(APIXO_GATEWAY_ADMIN_TOKEN=\S+ .* --by user --format csv)$/m.exec(text)?.[1];
    const csv = await run("bash", ["-c", byUser ?? "false"], { cwd: REPO });
    expect(csv.stdout.split("\n")).toContain(
      `demo,${new Date().toISOString().slice(0, 7)},user,ann@example.com,0.03,1`,
    );
  }, 30_000);

  it("puts metrics and admin on the asked port, or the next free one, and says so", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      demo = spawnCli(["demo", "--port", "0", "--metrics-port", String(port)]);
      await demo.waitFor(/Press Ctrl-C to stop/);
      const text = demo.stdout.join("\n");
      const printed = /^metrics, admin: +(http:\/\/localhost:(\d+))/m.exec(text);
      expect(Number(printed?.[2])).toBeGreaterThan(port);
      expect(text).toContain(`(port ${port} was busy)`);
      const metrics = await fetch(`${printed?.[1] ?? ""}/metrics`);
      expect(await metrics.text()).toContain("apixo_gateway_build_info");
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
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
