// migration.test.ts: the worked examples of docs/migration.md. For each product, `portico migrate`
// on examples/migration/<product>/before must write exactly the committed after/ (golden; rewrite
// with UPDATE_GOLDEN=1 and read the diff), the dry run must print a diff and a report and write
// nothing, and `portico run` on after/ must carry traffic (curl, real backends on 127.0.0.1).
// The MetalLB example's pools announce by L2 and BGP; to serve it here without touching this
// host's interfaces the test serves a copy with announce removed (the conversion itself is what
// the golden check covers, and `portico validate` accepts after/ as it is).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { portico, removeDir, run, startPortico, tempDir, waitFor } from "./harness.ts";
import { httpBackend, type HttpBackend } from "./fixtures.ts";

const examples = join(import.meta.dirname, "..", "..", "examples", "migration");
const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

const filesOf = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();

/** migrateGolden runs `portico migrate from before --write --out tmp` and compares tmp with after/. */
async function migrateGolden(from: string): Promise<{ stderr: string }> {
  const out = tempDir("portico-migrate-");
  cleanups.push(() => removeDir(out));
  const before = join(examples, from, "before");
  const want = join(examples, from, "after");
  const r = await portico(["migrate", from, before, "--write", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  if (process.env.UPDATE_GOLDEN === "1") {
    rmSync(want, { recursive: true, force: true });
    cpSync(out, want, { recursive: true });
  }
  assert.deepEqual(filesOf(out), filesOf(want), "the files written are the committed after/ files");
  for (const f of filesOf(want))
    assert.equal(
      readFileSync(join(out, f), "utf8"),
      readFileSync(join(want, f), "utf8"),
      `${from}/after/${f}`,
    );
  // after/ is valid as it is.
  const v = await portico(["validate", want]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  // The dry run prints the same change as a diff and writes nothing.
  const dry = await portico(["migrate", from, before]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^--- a\//m);
  assert.match(dry.stderr, /dry run: nothing written/);
  return { stderr: r.stderr };
}

/** servedCopy copies after/ to a temp dir with the example's backend port replaced by the real one. */
function servedCopy(from: string, examplePort: number, realPort: number): string {
  const dir = tempDir("portico-migrate-run-");
  cleanups.push(() => removeDir(dir));
  cpSync(join(examples, from, "after"), dir, { recursive: true });
  for (const f of filesOf(dir)) {
    const p = join(dir, f);
    writeFileSync(p, readFileSync(p, "utf8").replaceAll(String(examplePort), String(realPort)));
  }
  return dir;
}

async function backend(name: string): Promise<HttpBackend> {
  const b = await httpBackend(name);
  cleanups.push(() => b.close());
  return b;
}

test("metallb: pools, advertisements and peers convert to the golden VipPools and EngineGroup, and the Service is served", async () => {
  const { stderr } = await migrateGolden("metallb");
  // Every field without a Portico equivalent is reported with where and why.
  assert.match(
    stderr,
    /lost +pools\.yaml:\d+ L2Advertisement\/metallb-system\/lan spec\.nodeSelectors: .* not carried: /,
  );
  assert.match(
    stderr,
    /lost +peers\.yaml:\d+ BGPPeer\/metallb-system\/tor-b spec\.sourceAddress: "192\.0\.2\.100" not carried/,
  );
  assert.match(stderr, /0 errors/);
  const web = await backend("web");
  const dir = servedCopy("metallb", 18461, web.port);
  // Serve without announcing (see the file comment): drop spec.announce from the pools.
  const f = join(dir, "pools.yaml");
  const docs = parseAllDocuments(readFileSync(f, "utf8"));
  for (const d of docs) d.deleteIn(["spec", "announce"]);
  writeFileSync(f, docs.map((d) => d.toString()).join(""));
  const state = tempDir("portico-migrate-state-");
  cleanups.push(() => removeDir(state));
  const p = await startPortico([dir], ["--state-dir", state]);
  cleanups.push(() => void p.stop());
  const vip = await waitFor("Service demo/web to get a VIP", () => p.vip("Service", "demo", "web"));
  assert.match(vip, /^127\.0\.40\.([1-9]|10)$/, "from the converted pool web (priority 10, namespace demo)");
  const r = await run("curl", ["-s", "--max-time", "10", `http://${vip}:8080/hello`]);
  assert.equal(r.stdout, "web GET /hello\n");
  await p.stop();
});

test("ingress-nginx: class, Ingresses and ConfigMap convert to the golden after/, and traffic flows with the carried settings", async () => {
  const { stderr } = await migrateGolden("ingress-nginx");
  assert.match(
    stderr,
    /lost +controller\.yaml:\d+ ConfigMap\/ingress-nginx\/ingress-nginx-controller data\.hsts: "true" not carried: /,
  );
  assert.match(stderr, /data\.ssl-protocols: TLSv1\.1 not carried: Portico refuses TLS below 1\.2/);
  const web = await backend("web");
  const dir = servedCopy("ingress-nginx", 18471, web.port);
  const state = tempDir("portico-migrate-state-");
  cleanups.push(() => removeDir(state));
  const p = await startPortico(
    [dir],
    ["--state-dir", state, "--http-port", "18480", "--https-port", "18481"],
  );
  cleanups.push(() => void p.stop());
  const vip = await waitFor("Ingress shop/shop to get a VIP", () => p.vip("Ingress", "shop", "shop"));
  const curl = (...args: string[]) => run("curl", ["-s", "--max-time", "10", ...args]);
  const https = ["-k", "--resolve", `shop.example.test:18481:${vip}`, "https://shop.example.test:18481/cart"];
  assert.equal((await curl(...https)).stdout, "web GET /cart\n");
  // ssl-redirect, made explicit by the migration (ingress-nginx's default for a TLS Ingress).
  const plain = await curl(
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{redirect_url}",
    "-H",
    "host: shop.example.test",
    `http://${vip}:18480/cart`,
  );
  assert.equal(plain.stdout, "308 https://shop.example.test:18481/cart");
  // The Ingress that named its class by spec.ingressClassName is served on HTTP as before.
  assert.equal((await curl("-H", "host: status.example.test", `http://${vip}:18480/`)).stdout, "web GET /\n");
  // ssl-protocols from the ConfigMap (TLSv1.2 TLSv1.3 — TLSv1.1 dropped and reported, as Portico
  // refuses it in any case): TLS 1.2 is accepted, TLS 1.1 is not.
  assert.equal((await curl("--tlsv1.2", "--tls-max", "1.2", ...https)).stdout, "web GET /cart\n");
  const old = await curl("--tlsv1.1", "--tls-max", "1.1", ...https);
  assert.notEqual(old.code, 0, "a TLS 1.1 handshake is refused");
  await p.stop();
});

test("contour: the HTTPProxy converted by hand to Gateway API (after/) serves what the HTTPProxy did", async () => {
  // There is no `portico migrate contour`: after/ is the by-hand conversion docs/migration.md walks
  // through. The Services and certificate carry over unchanged.
  for (const f of ["backends.yaml", "certs.yaml"])
    assert.equal(
      readFileSync(join(examples, "contour", "after", f), "utf8"),
      readFileSync(join(examples, "contour", "before", f), "utf8"),
    );
  const web = await backend("web");
  const api = await backend("api");
  const canary = await backend("canary");
  const dir = servedCopy("contour", 18492, web.port);
  for (const [from, to] of [
    [18493, api.port],
    [18494, canary.port],
  ] as const)
    for (const f of filesOf(dir)) {
      const p = join(dir, f);
      writeFileSync(p, readFileSync(p, "utf8").replaceAll(String(from), String(to)));
    }
  const state = tempDir("portico-migrate-state-");
  cleanups.push(() => removeDir(state));
  const p = await startPortico([dir], ["--state-dir", state]);
  cleanups.push(() => void p.stop());
  const vip = await waitFor("Gateway shop/shop to get an address", async () => {
    const gw = (await p.status()).find((s) => s.kind === "Gateway" && s.name === "shop");
    return (gw?.status.addresses as { value: string }[] | undefined)?.[0]?.value;
  });
  const curl = (path: string, ...args: string[]) =>
    run("curl", [
      "-sk",
      "--max-time",
      "10",
      "--resolve",
      `shop.example.test:18491:${vip}`,
      ...args,
      `https://shop.example.test:18491${path}`,
    ]);
  assert.equal((await curl("/")).stdout, "web GET /\n");
  assert.equal((await curl("/api/x", "-H", "x-canary: yes")).stdout, "canary GET /api/x\n");
  assert.equal((await curl("/old/page")).stdout, "web GET /new/page\n", "pathRewritePolicy → URLRewrite");
  // services weights 90/10 → backendRefs weights: 200 requests, the canary's share well inside 1-25%.
  let toCanary = 0;
  for (let i = 0; i < 200; i++) if ((await curl("/api/y")).stdout.startsWith("canary")) toCanary++;
  assert.ok(toCanary >= 2 && toCanary <= 50, `canary got ${toCanary}/200`);
  const plain = await run("curl", [
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{redirect_url}",
    "-H",
    "host: shop.example.test",
    `http://${vip}:18490/cart`,
  ]);
  assert.equal(plain.stdout, "301 https://shop.example.test:18491/cart");
  await p.stop();
});

test("migrate: --write in place rewrites the directory into after/; bad input names file and line and writes nothing", async () => {
  const dir = tempDir("portico-migrate-inplace-");
  cleanups.push(() => removeDir(dir));
  cpSync(join(examples, "metallb", "before"), dir, { recursive: true });
  const r = await portico(["migrate", "metallb", dir, "--write"]);
  assert.equal(r.code, 0, r.stderr);
  for (const f of filesOf(join(examples, "metallb", "after")))
    assert.equal(
      readFileSync(join(dir, f), "utf8"),
      readFileSync(join(examples, "metallb", "after", f), "utf8"),
    );
  // A YAML syntax error: exit 1, the file and line named, no file touched.
  writeFileSync(join(dir, "zz-bad.yaml"), "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nspec: [\n");
  const before = readFileSync(join(dir, "pools.yaml"), "utf8");
  const bad = await portico(["migrate", "metallb", dir, "--write"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^portico: zz-bad\.yaml:\d+: YAML syntax error/);
  assert.equal(readFileSync(join(dir, "pools.yaml"), "utf8"), before);
  // An object that cannot be converted: exit 1, an error line, the object left as it was.
  rmSync(join(dir, "zz-bad.yaml"));
  writeFileSync(
    join(dir, "peer.yaml"),
    "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: { name: unnumbered, namespace: metallb-system }\nspec: { myASN: 64512, peerASN: 64500, interface: eth1 }\n",
  );
  const err = await portico(["migrate", "metallb", join(dir, "peer.yaml")]);
  assert.equal(err.code, 1);
  assert.match(
    err.stderr,
    /error +peer\.yaml:1 BGPPeer\/metallb-system\/unnumbered: not converted: it has no peerAddress/,
  );
  assert.equal(err.stdout, "", "nothing to change");
  // A password moved into a Secret is never printed by the dry run.
  writeFileSync(
    join(dir, "peer.yaml"),
    "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: { name: p, namespace: metallb-system }\nspec: { myASN: 64512, peerASN: 64500, peerAddress: 192.0.2.1, password: hunter2 }\n",
  );
  const dry = await portico(["migrate", "metallb", join(dir, "peer.yaml")]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /\+ {2}password: <redacted: written only with --write>/);
  assert.doesNotMatch(dry.stdout + dry.stderr, /hunter2/);
  const usage = await portico(["migrate", "metallb", dir, "--out", dir]);
  assert.equal(usage.code, 2);
});
