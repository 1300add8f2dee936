import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { freePort, RESULTS_DIR, spawnProc, type Proc } from "./procs.js";

/** nginx on PATH (the C floor and the fixed-answer upstream use it when installed). */
export function nginxInstalled(): boolean {
  return spawnSync("nginx", ["-v"], { encoding: "utf8" }).status === 0;
}

/** One worker, no master (so the bench measures the process that does the work), logs off, keep-alive on. */
function config(dir: string, port: number, server: string): string {
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((name) => `${name}_temp_path ${dir}/${name};`)
    .join(" ");
  return `worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  ${temp}
  ${server.replace("LISTEN", `listen 127.0.0.1:${port};`)}
}
`;
}

async function start(name: string, server: string): Promise<{ proc: Proc; url: string }> {
  const dir = resolve(RESULTS_DIR, `nginx-${name}`);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const file = resolve(dir, "nginx.conf");
  writeFileSync(file, config(dir, port, server));
  const proc = await spawnProc({
    name: `nginx-${name}`,
    command: "nginx",
    args: ["-p", dir, "-c", file],
    port,
  });
  return { proc, url: `http://127.0.0.1:${port}` };
}

/**
 * A fixed-answer APIXO: every submit gets a fresh task id ($request_id, 32 hex characters, as APIXO's), every
 * poll a running task. It costs a fraction of the simulator's CPU, so the subject's core is the bottleneck.
 */
export function startFixedUpstream(): Promise<{ proc: Proc; url: string }> {
  return start(
    "upstream",
    `server {
    LISTEN
    default_type application/json;
    location /api/v1/generateTask/ {
      return 200 '{"code":200,"message":"success","data":{"taskId":"$request_id"}}';
    }
    location /api/v1/statusTask/ {
      return 200 '{"code":200,"message":"success","data":{"taskId":"$arg_taskId","state":"processing","createTime":1764633600000}}';
    }
  }`,
  );
}

/** nginx as a reverse proxy with a keep-alive upstream pool: the C floor. */
export function startNginxProxy(
  upstreamUrl: string,
  upstreamKey: string,
): Promise<{ proc: Proc; url: string }> {
  const upstream = new URL(upstreamUrl);
  return start(
    "proxy",
    `upstream apixo { server ${upstream.host}; keepalive 64; }
  server {
    LISTEN
    location / {
      proxy_pass http://apixo;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer ${upstreamKey}";
    }
  }`,
  );
}
