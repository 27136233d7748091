// bin-portico.test.ts: the command users run. bin/portico runs the JavaScript build of src/
// (scripts/build.sh) rather than the .ts sources, with engine workers forked from the same build;
// the rest of the e2e suite runs the sources, so this is the one place the build is exercised.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { tempDir, writeManifest, startPortico, removeDir, run, waitFor } from "./harness.ts";
import { httpBackend, ingressAppManifest } from "./fixtures.ts";
import { ENGINE_NODE_FLAGS } from "../../src/engine/v8-tuning.ts";

const root = join(import.meta.dirname, "..", "..");
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** cmdline is a process's argv joined by spaces. */
function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ");
}

/** children lists the pids whose parent is pid. */
function children(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "latin1");
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* the process ended while we looked */
    }
  }
  return out;
}

test("bin/portico serves from the JS build, its engine workers too", async () => {
  const dir = tempDir();
  const state = tempDir();
  const app = await httpBackend("built");
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
    app.close,
  );
  const vip = "127.0.24.10";
  writeManifest(dir, "a.yaml", ingressAppManifest("bin", vip, app.port));
  // htpasswd -nbB -C 5 alice secret
  writeManifest(
    dir,
    "auth.yaml",
    `apiVersion: v1
kind: Secret
metadata: { name: users, namespace: default }
stringData: { auth: "alice:$2y$05$wO4AyEaHB8PKw5mkJdmTmeMYjkEzpSjNIpIGgZ6E4Yd1FPNGKHSoe" }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: auth
  namespace: default
  annotations: { nginx.ingress.kubernetes.io/auth-type: basic, nginx.ingress.kubernetes.io/auth-secret: users }
spec:
  rules:
    - host: auth.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }] }
`,
  );

  const port = 18290;
  const p = await startPortico([dir], ["--state-dir", state, "--http-port", String(port), "--workers", "2"], {
    command: ["sh", join(root, "bin/portico")],
  });
  cleanups.push(() => p.stop());
  const r = await run("curl", ["-s", "-H", "host: app.test", `http://${vip}:${port}/x`]);
  assert.match(r.stdout, /built/);
  // A thread the engine starts from a module beside it (bcrypt checks) runs from the build too:
  // a .ts name there would fail every check, so every bcrypt user would be refused.
  const auth = (user: string) =>
    run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-u",
      user,
      "-H",
      "host: auth.test",
      `http://${vip}:${port}/x`,
    ]);
  assert.equal((await auth("alice:secret")).stdout, "200");
  assert.equal((await auth("alice:wrong")).stdout, "401");
  // bin/portico execs down to node: the spawned pid is the controller running the build.
  assert.match(cmdline(p.proc.pid!), /\.cache\/dist\/src\/cli\/main\.js run /);
  // Workers fork from the real path of the build the controller started from (.cache/dist.N):
  // a rebuild while Portico runs swaps the link, not the code of a running instance.
  const workers = await waitFor("two engine workers", () => {
    const ws = children(p.proc.pid!).filter((c) => cmdline(c).includes("worker"));
    return ws.length === 2 ? ws : undefined;
  });
  for (const w of workers) assert.match(cmdline(w), /\.cache\/dist\.\d+\/src\/engine\/workers\/worker\.js/);
  // The V8 flags an engine must start with (Node refuses them in NODE_OPTIONS) reach the process
  // bin/portico execs and, through the forked processes' execArgv, every engine worker.
  for (const pid of [p.proc.pid!, ...workers])
    for (const flag of ENGINE_NODE_FLAGS)
      assert.ok(cmdline(pid).includes(` ${flag} `), `${flag} in ${cmdline(pid)}`);
});
