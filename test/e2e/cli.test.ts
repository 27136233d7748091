// cli.test.ts: the `portico` command users run (bin/portico, the JS build) on the Gateway API
// example and its pool. Offline answers (from the directory and the state directory `portico run`
// writes) and live answers (--admin) must agree for every explain target, every get table and
// every -o; unknown -o, missing objects and missing directories fail as documented.
// The example is copied with its addresses moved to 127.0.61.0/24 so it cannot collide with
// another test serving the example itself.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { createServer, type AddressInfo } from "node:net";
import { tempDir, startPortico, removeDir, writeManifest, type Portico } from "./harness.ts";

const root = join(import.meta.dirname, "..", "..");
const binPortico = join(root, "bin/portico");

/** bin runs bin/portico once; it never rejects on a non-zero exit. */
function bin(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "sh",
      [binPortico, ...args],
      { timeout: 60_000, maxBuffer: 16 << 20, cwd: opts.cwd ?? root, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        const status = (err as { code?: unknown } | null)?.code;
        resolve({ code: err ? (typeof status === "number" ? status : 1) : 0, stdout, stderr });
      },
    );
  });
}

// A pool of one address that two Services ask for by name: the second waits on it.
const extra = `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: tiny }
spec: { addresses: ["127.0.61.40-127.0.61.40"] }
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: portico }
spec: { controller: portico.dev/ingress-controller }
---
apiVersion: v1
kind: Service
metadata: { name: first, namespace: demo, annotations: { portico.dev/address-pool: tiny }, creationTimestamp: "2026-01-01T00:00:00Z" }
spec: { type: LoadBalancer, ports: [{ port: 7001, protocol: TCP }] }
---
apiVersion: v1
kind: Service
metadata: { name: second, namespace: demo, annotations: { portico.dev/address-pool: tiny }, creationTimestamp: "2026-01-02T00:00:00Z" }
spec: { type: LoadBalancer, ports: [{ port: 7001, protocol: TCP }] }
`;

let dir: string, state: string, p: Portico, admin: string;

before(async () => {
  dir = tempDir("portico-cli-");
  state = tempDir("portico-cli-state-");
  cpSync(join(root, "examples/gateway-api"), dir, { recursive: true });
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
    const file = join(dir, f);
    writeFileSync(file, readFileSync(file, "utf8").replaceAll("127.0.20.", "127.0.61."));
  }
  writeManifest(dir, "99-extra.yaml", extra);
  p = await startPortico([dir], ["--state-dir", state], { command: ["sh", binPortico] });
  admin = p.adminUrl.replace("http://", "");
});

after(async () => {
  await p?.stop();
  removeDir(dir);
  removeDir(state);
});

/** both runs `pre DIR post` offline (with the run's state dir) and `pre post --admin` live, and
 * checks that they agree; it returns the live stdout. */
/**
 * dropProgrammed removes the PROGRAMMED column of `get` output (tables, YAML, JSON): whether a
 * listener is bound is known only to a running Portico, so offline it says "-" and live True/False.
 */
function dropProgrammed(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text, (k, v: unknown) => (k === "PROGRAMMED" ? undefined : v)));
  } catch {
    // Not JSON: YAML rows, or aligned tables whose header names the column.
  }
  const yaml = text.replace(/^( *)(- )?PROGRAMMED: .*\n/gm, (_, sp: string, dash?: string) =>
    dash ? sp + dash : "",
  );
  let cut: [number, number] | undefined;
  return yaml
    .split("\n")
    .map((line) => {
      const at = line.indexOf("PROGRAMMED ");
      if (at >= 0) cut = [at, at + /^PROGRAMMED\s+/.exec(line.slice(at))![0].length];
      if (line.trim() === "") cut = undefined;
      return cut ? line.slice(0, cut[0]) + line.slice(cut[1]) : line;
    })
    .join("\n");
}

async function both(pre: string[], post: string[] = [], wantCode = 0): Promise<string> {
  const offline = await bin([...pre, dir, ...post, "--state-dir", state]);
  const live = await bin([...pre, ...post, "--admin", admin]);
  const what = [...pre, ...post].join(" ");
  assert.equal(offline.code, wantCode, `${what} offline: ${offline.stderr}`);
  assert.equal(live.code, wantCode, `${what} live: ${live.stderr}`);
  // The offline answer says so in exactly one line, on stderr, so stdout stays a clean document.
  assert.match(
    offline.stderr,
    /^offline: computed from .* \(allocations from .*; Ingress ports 80\/443; listener bind state unknown\); --admin HOST:PORT asks a running Portico\n$/,
  );
  assert.equal(live.stderr, "", what);
  assert.equal(
    dropProgrammed(offline.stdout),
    dropProgrammed(live.stdout),
    `${what}: offline and live differ`,
  );
  return live.stdout;
}

const OUTPUTS = ["table", "wide", "yaml", "json"];

test("explain: offline and --admin give the same answer for every kind and every -o", async () => {
  const targets = [
    "gateway/infra/demo",
    "httproute/demo/shop",
    "grpcroute/demo/echo",
    "tlsroute/demo/db",
    "tcproute/demo/echo",
    "udproute/demo/dns",
    "vippool/gateways",
    "vippool/tiny",
    "ingressclass/portico",
    "service/demo/second",
  ];
  const text: Record<string, string> = {};
  for (const t of targets) {
    // Every -o on two kinds; text and a document on the rest (each run starts a process).
    for (const o of t.startsWith("gateway/") || t === "vippool/tiny" ? OUTPUTS : ["table", "json"]) {
      const out = await both(["explain", t], ["-o", o]);
      if (o === "table") text[t] = out;
      if (o === "json") assert.equal(JSON.parse(out).found, true, t);
    }
  }
  assert.match(text["gateway/infra/demo"]!, /^VIP: 127\.0\.61\.10 \(from pool gateways\)$/m);
  assert.match(
    text["gateway/infra/demo"]!,
    /^ {2}8443\/HTTPS hosts .*; TLS db\.example\.test \(Passthrough\)$/m,
  );
  assert.match(text["tcproute/demo/echo"]!, /port 9000\/TCP → pool demo\/echo-tcp:9000\/TCP/);
  assert.match(text["vippool/tiny"]!, /^ {2}127\.0\.61\.40 Service\/demo\/first 7001\/TCP$/m);
  assert.match(text["vippool/tiny"]!, /^Waiting \(1\):\n {2}Service\/demo\/second \(IPv4\): Exhausted/m);
  assert.match(
    text["service/demo/second"]!,
    /VIP: <pending> — no address: pool "tiny" exhausted \(1\/1 assigned\)/,
  );
});

test("get: offline and --admin agree on every table (enginegroups too) and -o; pools show used/free/pending", async () => {
  for (const kind of ["services", "ingresses", "gateways", "routes", "pools", "enginegroups", "dns", "all"])
    for (const o of OUTPUTS) await both(["get", kind], ["-o", o]);
  const pools = JSON.parse(await both(["get", "pools"], ["-o", "json"])) as Record<string, string>[];
  const tiny = pools.find((r) => r.NAME === "tiny")!;
  assert.deepEqual([tiny["IPV4 USED"], tiny["IPV4 FREE"], tiny["IPV4 PENDING"]], ["1", "0", "1"]);
  const gw = await both(["get", "gateways"]);
  assert.match(
    gw,
    /^infra\s+demo\s+portico\s+127\.0\.61\.10\s+True\s+8080\/HTTP,8443\/HTTPS,8081\/HTTP,9000\/TCP,9053\/UDP$/m,
  );
});

test("translate and validate: offline and --admin agree (the live snapshot carries its own version)", async () => {
  const offline = await bin(["translate", dir, "--state-dir", state, "-o", "json"]);
  const live = await bin(["translate", "--admin", admin, "-o", "json"]);
  assert.equal(offline.code, 0, offline.stderr);
  assert.equal(live.code, 0, live.stderr);
  const a = JSON.parse(offline.stdout);
  const b = JSON.parse(live.stdout);
  b.snapshot.version = a.snapshot.version;
  assert.deepEqual(a, b);
  // YAML too, byte for byte once the version is set aside (no &anchors offline that JSON lost live).
  const y = await bin(["translate", dir, "--state-dir", state]);
  const z = await bin(["translate", "--admin", admin]);
  assert.equal(y.stdout, z.stdout.replace(/^ {2}version: \d+$/m, "  version: 1"));
  for (const o of ["table", "wide"]) {
    const summary = await both(["translate"], ["-o", o]);
    assert.match(summary, /^127\.0\.61\.10\s+8443\s+HTTPS\s+Gateway\/infra\/demo:8443/m);
  }
  assert.match(await both(["validate"]), /^ok: \d+ objects valid$/m);
});

test("an unknown -o exits 2 with one line; a missing object exits 1, offline and live", async () => {
  for (const cmd of [["get", "pools"], ["translate"], ["explain", "gateway/infra/demo"]]) {
    const r = await bin([...cmd, "--admin", admin, "-o", "xml"]);
    assert.equal(r.code, 2, cmd.join(" "));
    assert.equal(r.stderr, 'portico: -o must be one of table, wide, yaml, json, not "xml"\n');
  }
  // A setting a live answer would ignore is refused, not silently dropped.
  const ignored = await bin(["get", "ingresses", "--admin", admin, "--http-port", "8080"]);
  assert.equal(ignored.code, 2);
  assert.match(
    ignored.stderr,
    /^portico: --http-port: these shape an offline answer; a running Portico answers with its own settings/,
  );
  for (const flag of ["--max-file-size", "--max-objects"]) {
    const r = await bin(["get", "services", "--admin", admin, flag, "10"]);
    assert.equal(r.code, 2, flag);
    assert.match(r.stderr, new RegExp(`^portico: ${flag}: these shape an offline answer`));
  }
  const text = await both(["explain", "httproute/demo/nope"], [], 1);
  assert.equal(
    text,
    "HTTPRoute demo/nope is not in the manifests. Check the namespace and name ('portico get routes').\n",
  );
  await both(["explain", "vippool/nope"], [], 1);
});

test("a directory that does not exist: one line, exit 2, no state directory created", async () => {
  const cwd = tempDir("portico-cli-cwd-");
  const home = tempDir("portico-cli-home-");
  try {
    // The default state location (XDG state home) and an explicit --state-dir both stay absent.
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, "state") };
    delete env.PORTICO_STATE_DIR;
    const missing = join(cwd, "no-such-dir");
    for (const args of [
      ["run", missing, "--admin", "127.0.0.1:0"],
      ["run", missing, "--state-dir", join(cwd, "st")],
      ["validate", missing],
      ["translate", missing],
      ["translate", missing, "--state-dir", join(cwd, "st")],
      ["explain", "gateway/infra/demo", missing],
      ["get", "services", missing],
      ["get", "all", missing],
    ]) {
      const r = await bin(args, { cwd, env });
      const what = args.join(" ");
      assert.equal(r.code, 2, what);
      assert.equal(r.stdout, "", what);
      assert.equal(
        r.stderr,
        `portico: ${missing}: no such directory; create it or pass the right path (nothing was started)\n`,
        what,
      );
      assert.deepEqual(readdirSync(cwd), [], what);
      assert.equal(existsSync(join(home, "state")), false, what);
    }
  } finally {
    removeDir(cwd);
    removeDir(home);
  }
});

test("version, --version and help", async () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
  for (const v of ["version", "--version"]) {
    const r = await bin([v]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `portico ${pkg.version}\n`);
  }
  const h = await bin(["help"]);
  assert.equal(h.code, 0);
  for (const word of ["run", "validate", "translate", "explain", "get", "controller", "version", "help"])
    assert.match(h.stdout, new RegExp(`^ {2}portico ${word}\\b`, "m"), word);
  for (const kind of [
    "gateway",
    "httproute",
    "grpcroute",
    "tlsroute",
    "tcproute",
    "udproute",
    "vippool",
    "ingressclass",
    "enginegroup",
  ])
    assert.match(h.stdout, new RegExp(kind), kind);
  assert.match(h.stdout, /gateways\|routes\|pools\|enginegroups\|dns\|policies\|all/);
  const bad = await bin(["frobnicate"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "portico: unknown command \"frobnicate\"; run 'portico help' for the list\n");
});

test("run: an admin port in use is one line, exit 1, and the state directory is left unlocked", async () => {
  const held = createServer();
  await new Promise<void>((r) => held.listen(0, "127.0.0.1", r));
  const taken = `127.0.0.1:${(held.address() as AddressInfo).port}`;
  const st = tempDir("portico-cli-state-");
  try {
    const r = await bin(["run", dir, "--admin", taken, "--state-dir", st]);
    assert.equal(r.code, 1, r.stderr);
    const errors = r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("{"));
    assert.deepEqual(errors, [
      `portico: --admin ${taken}: is in use by another process; stop it or choose another port (--admin HOST:PORT)`,
    ]);
    // The shared run holds the example's VIPs, so this one only needs to get past the lock.
    const again = await startPortico([dir], ["--state-dir", st], {
      command: ["sh", binPortico],
      waitHealthy: false,
    });
    await again.stop();
  } finally {
    held.close();
    removeDir(st);
  }
});
