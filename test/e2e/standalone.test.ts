// standalone.test.ts: `portico run` end to end — real backends, real curl/openssl, VIPs on 127.0.21.0/29.
import { writeSelfSigned } from "../support/certs.ts";
import { withinTarget } from "../support/machine.ts";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createSocket } from "node:dgram";
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import {
  tempDir,
  writeManifest,
  startPortico,
  run,
  portico,
  waitFor,
  removeDir,
  type Portico,
} from "./harness.ts";
import {
  httpBackend,
  tcpEcho,
  udpEcho,
  pool,
  backendService,
  ingressClass,
  type HttpBackend,
} from "./fixtures.ts";

let dir: string, state: string, certs: string;
let web: HttpBackend, api: HttpBackend, blog: HttpBackend;
let echoTcp: Awaited<ReturnType<typeof tcpEcho>>, echoUdp: Awaited<ReturnType<typeof udpEcho>>;
let p: Portico;
const HTTP = 18080;
const HTTPS = 18443;

function echoService(name: string, tcpPort: number, udpPort: number, extra = ""): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec:
  type: LoadBalancer
  ports:
    - { name: tcp, port: 7000, targetPort: ${tcpPort}, protocol: TCP }
    - { name: udp, port: 7000, targetPort: ${udpPort}, protocol: UDP }
${extra}---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: default, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: tcp, port: ${tcpPort}, protocol: TCP }, { name: udp, port: ${udpPort}, protocol: UDP }]
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true } }]
`;
}

function curl(vip: string, url: string, extra: string[] = []) {
  const u = new URL(url);
  return run("curl", [
    "-sS",
    "--max-time",
    "5",
    "--resolve",
    `${u.hostname}:${u.port}:${vip}`,
    ...extra,
    url,
  ]);
}

before(async () => {
  dir = tempDir();
  state = tempDir();
  certs = tempDir();
  [web, api, blog] = await Promise.all([httpBackend("web"), httpBackend("api"), httpBackend("blog")]);
  [echoTcp, echoUdp] = await Promise.all([tcpEcho(), udpEcho()]);
  const shop = writeSelfSigned(certs, "shop.test", ["shop.test"]);
  const { readFileSync } = await import("node:fs");
  writeManifest(dir, "pool.yaml", pool("e2e", ["127.0.21.1-127.0.21.3"]) + "---\n" + ingressClass);
  writeManifest(
    dir,
    "apps/web.yaml",
    backendService("default", "web", web.port) + "---\n" + backendService("default", "api", api.port),
  );
  writeManifest(dir, "apps/blog.yaml", backendService("default", "blog", blog.port));
  writeManifest(dir, "apps/echo.yaml", echoService("echo", echoTcp.port, echoUdp.port));
  writeManifest(
    dir,
    "secrets/shop-tls.yaml",
    `apiVersion: v1
kind: Secret
metadata: { name: shop-tls, namespace: default }
type: kubernetes.io/tls
data:
  tls.crt: ${readFileSync(shop.crt).toString("base64")}
  tls.key: ${readFileSync(shop.key).toString("base64")}
`,
  );
  writeManifest(
    dir,
    "ingress.yaml",
    `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: shop, namespace: default }
spec:
  tls: [{ hosts: [shop.test], secretName: shop-tls }]
  rules:
    - host: shop.test
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }
          - { path: /api, pathType: Prefix, backend: { service: { name: api, port: { name: http } } } }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: blog, namespace: default }
spec:
  rules:
    - host: "*.blog.test"
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: blog, port: { number: 80 } } } }
`,
  );
  p = await startPortico(
    [dir],
    ["--state-dir", state, "--http-port", String(HTTP), "--https-port", String(HTTPS)],
  );
});

after(async () => {
  await p?.stop();
  for (const b of [web, api, blog]) b?.close();
  echoTcp?.server.close();
  echoUdp?.socket.close();
  for (const d of [dir, state, certs]) if (d) removeDir(d);
});

test("Services and Ingresses get VIPs from the pool; Ingresses share one", async () => {
  const echo = await p.vip("Service", "default", "echo");
  const shop = await p.vip("Ingress", "default", "shop");
  const blogVip = await p.vip("Ingress", "default", "blog");
  assert.match(echo ?? "", /^127\.0\.21\.[1-3]$/);
  assert.match(shop ?? "", /^127\.0\.21\.[1-3]$/);
  assert.equal(blogVip, shop, "Ingresses of one class share the VIP");
  assert.notEqual(echo, shop);
});

test("host and path routing follow the Ingress spec (Prefix matches path elements, longest wins)", async () => {
  const vip = (await p.vip("Ingress", "default", "shop"))!;
  assert.equal((await curl(vip, `http://shop.test:${HTTP}/api/cart`)).stdout, "api GET /api/cart\n");
  assert.equal((await curl(vip, `http://shop.test:${HTTP}/api`)).stdout, "api GET /api\n");
  assert.equal((await curl(vip, `http://shop.test:${HTTP}/apix`)).stdout, "web GET /apix\n");
  assert.equal((await curl(vip, `http://shop.test:${HTTP}/`)).stdout, "web GET /\n");
  assert.equal((await curl(vip, `http://x.blog.test:${HTTP}/post/1`)).stdout, "blog GET /post/1\n");
  const unknown = await curl(vip, `http://nope.test:${HTTP}/`, ["-o", "/dev/null", "-w", "%{http_code}"]);
  assert.equal(unknown.stdout, "404");
  const seen = api.seen.find((s) => s.url === "/api/cart")!;
  assert.equal(seen.headers["x-forwarded-host"], `shop.test:${HTTP}`, "the Host the client sent");
  assert.equal(seen.headers["x-forwarded-proto"], "http");
  assert.match(String(seen.headers["x-forwarded-for"]), /127\.0\.0\.1/);
});

test("HTTPS terminates with the certificate picked by SNI, over HTTP/1.1 and HTTP/2", async () => {
  const vip = (await p.vip("Ingress", "default", "shop"))!;
  const ca = join(certs, "shop.test.crt");
  const r = await curl(vip, `https://shop.test:${HTTPS}/api/x`, ["--cacert", ca]);
  assert.equal(r.stdout, "api GET /api/x\n", r.stderr);
  const h2 = await curl(vip, `https://shop.test:${HTTPS}/`, [
    "--cacert",
    ca,
    "--http2",
    "-o",
    "/dev/null",
    "-w",
    "%{http_version}",
  ]);
  assert.equal(h2.stdout, "2");
  const s = await run("openssl", ["s_client", "-connect", `${vip}:${HTTPS}`, "-servername", "shop.test"], "");
  assert.match(s.stdout, /subject=CN\s*=\s*shop\.test/);
});

test("TCP and UDP echo through the LoadBalancer Service's VIP", async () => {
  const vip = (await p.vip("Service", "default", "echo"))!;
  const tcpReply = await new Promise<string>((resolve, reject) => {
    const s = connect(7000, vip, () => s.end("hello tcp"));
    let got = "";
    s.on("data", (d) => (got += d));
    s.on("end", () => resolve(got));
    s.on("error", reject);
  });
  assert.equal(tcpReply, "hello tcp");
  const u = createSocket("udp4");
  const reply = await new Promise<string>((resolve) => {
    u.on("message", (m) => resolve(m.toString()));
    u.send("hello udp", 7000, vip);
  });
  u.close();
  assert.equal(reply, "hello udp");
});

test("portico get services prints EXTERNAL-IP from the running instance", async () => {
  const r = await portico(["get", "services", "--admin", p.adminUrl.replace("http://", "")]);
  assert.equal(r.code, 0, r.stderr);
  const vip = await p.vip("Service", "default", "echo");
  assert.match(r.stdout, new RegExp(`echo\\s+LoadBalancer\\s+\\S+\\s+${vip!.replace(/\./g, "\\.")}`));
});

test("portico get ingresses prints the ports Portico listens on (--http-port/--https-port)", async () => {
  const r = await portico(["get", "ingresses", "--admin", p.adminUrl.replace("http://", "")]);
  assert.equal(r.code, 0, r.stderr);
  const shop = r.stdout.split("\n").find((l) => /\sshop\s/.test(l));
  assert.ok(shop, r.stdout);
  assert.match(shop, new RegExp(`\\s${HTTP}(, ${HTTPS})?$`));
});

test("an edited manifest is served within a second; a broken file keeps its last good version", async () => {
  const vip = (await p.vip("Ingress", "default", "shop"))!;
  const started = Date.now();
  writeManifest(
    dir,
    "new.yaml",
    `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: fresh, namespace: default }
spec:
  rules:
    - host: fresh.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: blog, port: { number: 80 } } } }] }
`,
  );
  await waitFor(
    "new route served",
    async () => (await curl(vip, `http://fresh.test:${HTTP}/`)).stdout === "blog GET /\n",
    5000,
  );
  const took = Date.now() - started;
  withinTarget("new route served after", took, 1000);

  writeManifest(
    dir,
    "new.yaml",
    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: fresh\n  broken: [\n",
  );
  const errors = await waitFor("error visible", async () => {
    const e = (await (await fetch(`${p.adminUrl}/api/v1/errors`)).json()) as {
      input: { file: string; line: number }[];
    };
    return e.input.find((x) => x.file.endsWith("new.yaml"));
  });
  assert.ok(errors.line >= 1);
  assert.equal(
    (await curl(vip, `http://fresh.test:${HTTP}/`)).stdout,
    "blog GET /\n",
    "last good version keeps serving",
  );
  unlinkSync(join(dir, "new.yaml"));
  await waitFor(
    "route removed with the file",
    async () =>
      (await curl(vip, `http://fresh.test:${HTTP}/`, ["-o", "/dev/null", "-w", "%{http_code}"])).stdout ===
      "404",
  );
});

test("an exhausted pool leaves the next Service pending with N/N; freeing an address serves it", async () => {
  writeManifest(
    dir,
    "more.yaml",
    echoService("second", echoTcp.port, echoUdp.port) +
      "---\n" +
      echoService("third", echoTcp.port, echoUdp.port),
  );
  const pending = await waitFor("third pending", async () => {
    const st = (await p.status()).find((s) => s.kind === "Service" && s.name === "third");
    const c = st?.status?.conditions?.find((x) => x.status === "False");
    return c && !st?.status.loadBalancer?.ingress?.length ? c : undefined;
  });
  assert.match(pending.message ?? "", /3\/3/);
  const offline = await portico(["explain", "service/default/third", dir, "--state-dir", state]);
  assert.match(offline.stdout, /Exhausted/);
  unlinkSync(join(dir, "apps/echo.yaml"));
  const ip = await waitFor("third gets the freed address", () => p.vip("Service", "default", "third"));
  assert.match(ip, /^127\.0\.21\.[1-3]$/);
});

test("a restart changes no address", async () => {
  const before = await p.status();
  const ips = (xs: typeof before) =>
    xs
      .map(
        (s) =>
          `${s.kind}/${s.namespace}/${s.name}=${s.status?.loadBalancer?.ingress?.map((i) => i.ip).join(",") ?? ""}`,
      )
      .sort();
  await p.stop();
  p = await startPortico(
    [dir],
    ["--state-dir", state, "--http-port", String(HTTP), "--https-port", String(HTTPS)],
  );
  assert.deepEqual(ips(await p.status()), ips(before));
});
