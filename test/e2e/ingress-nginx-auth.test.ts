// ingress-nginx-auth.test.ts: ingress-nginx's authentication annotations under `portico run` —
// basic auth from htpasswd Secrets (made by Apache htpasswd and openssl), external auth against a
// small auth service written here (401, 403, signin redirect, 2xx with headers copied, service
// down), over HTTP/1.1 and HTTP/2; the cases follow ingress-nginx's test/e2e/annotations/auth.go —
// and custom-http-errors/default-backend (customhttperrors.go, default_backend.go).
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import http2 from "node:http2";
import { after, before, test } from "node:test";
import { backendService, httpBackend, ingressClass, pool, type HttpBackend } from "./fixtures.ts";
import { removeDir, startPortico, tempDir, waitFor, writeManifest, type Portico } from "./harness.ts";
import { freePort, readUntil } from "./l4-helpers.ts";
import { connect } from "node:net";

const VIP = "127.0.77.1";
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

// htpasswd -nbB -C 5 alice secret; openssl passwd -apr1 secret (bob); htpasswd -nbs carol secret.
const HTPASSWD = [
  "alice:$2y$05$wO4AyEaHB8PKw5mkJdmTmeMYjkEzpSjNIpIGgZ6E4Yd1FPNGKHSoe",
  "bob:$apr1$M6.gwv17$bvsrHTKU3aQIpsQqrSiqE1",
  "dave:PjUcXtTSu2HaA",
].join("\n");
const b64 = (s: string) => Buffer.from(s).toString("base64");

// The auth service: "Bearer good" passes (X-User, X-Extra), "Bearer forbidden" gets 403, "Bearer
// odd" 418, anything else 401. It remembers the headers it saw.
const authSeen: IncomingHttpHeaders[] = [];
const slowHeld: (() => void)[] = [];
let hangClosed = 0;
function authService(): Server {
  return createServer((req, res) => {
    authSeen.push({ ...req.headers, ":method": req.method });
    req.resume();
    const auth = req.headers.authorization;
    // "slow" waits for a "fast" request to pass first; "hang" never gets an answer (its close is seen).
    if (auth === "Bearer slow") return void slowHeld.push(() => res.writeHead(200).end());
    if (auth === "Bearer hang") return void res.on("close", () => hangClosed++);
    if (auth === "Bearer fast") {
      res.writeHead(200).end();
      for (const release of slowHeld.splice(0)) release();
      return;
    }
    if (auth === "Bearer good") {
      res.writeHead(200, { "X-User": "alice", "X-Extra": "not-copied", "Set-Cookie": "session=fresh" });
    } else if (auth === "Bearer forbidden") res.writeHead(403);
    else if (auth === "Bearer odd") res.writeHead(418);
    else res.writeHead(401, { "WWW-Authenticate": 'Bearer realm="test"' });
    res.end();
  });
}

// The app behind custom-http-errors: /missing is 404, /down is 503, /teapot 418, the rest 200.
function errorApp(): Server {
  return createServer((req, res) => {
    req.resume();
    const code = req.url === "/missing" ? 404 : req.url === "/down" ? 503 : req.url === "/teapot" ? 418 : 200;
    res.writeHead(code, { "content-type": "text/plain" });
    res.end(`app says ${code}\n`);
  });
}

// The default backend: a page naming what ingress-nginx's headers told it, with X-Code's status.
const pagesSeen: IncomingHttpHeaders[] = [];
function errorPages(): Server {
  return createServer((req, res) => {
    pagesSeen.push(req.headers);
    req.resume();
    const code = Number(req.headers["x-code"] ?? 404);
    res.writeHead(code, { "content-type": "text/html" });
    res.end(`<h1>custom ${code}</h1>`);
  });
}

async function listen(server: Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => {
    server.close();
    server.closeAllConnections();
  });
  return (server.address() as { port: number }).port;
}

function ingress(name: string, host: string, annotations: Record<string, string>, service = "app"): string {
  const ann = Object.entries(annotations)
    .map(([k, v]) => `    nginx.ingress.kubernetes.io/${k}: ${JSON.stringify(v)}`)
    .join("\n");
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
  annotations:
${ann}
spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: ${service}, port: { number: 80 } } } }] }
`;
}

let p: Portico;
let port = 0;
let app: HttpBackend;
let authPort = 0;

before(async () => {
  app = await httpBackend("app");
  cleanups.push(() => app.close());
  const auth = authService();
  auth.listen(0, "127.0.0.1");
  await once(auth, "listening");
  authPort = (auth.address() as { port: number }).port;
  cleanups.push(() => {
    auth.close();
    auth.closeAllConnections();
  });
  // A port nothing listens on: the "auth service down" case.
  const closed = createServer();
  closed.listen(0, "127.0.0.1");
  await once(closed, "listening");
  const downPort = (closed.address() as { port: number }).port;
  closed.close();
  const errApp = await listen(errorApp());
  const pages = await listen(errorPages());
  const dir = tempDir();
  const state = tempDir();
  cleanups.push(
    () => removeDir(dir),
    () => removeDir(state),
  );
  const secrets = `apiVersion: v1
kind: Secret
metadata: { name: basic-auth, namespace: default }
data: { auth: ${b64(HTPASSWD)} }
---
apiVersion: v1
kind: Secret
metadata: { name: basic-map, namespace: default }
data: { carol: ${b64("{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=")} }
`;
  writeManifest(
    dir,
    "app.yaml",
    [
      pool("auth-e2e", [`${VIP}/32`]),
      ingressClass,
      backendService("default", "app", app.port),
      backendService("default", "auth", authPort),
      backendService("default", "down", downPort),
      secrets,
      ingress("basic", "basic.test", {
        "auth-type": "basic",
        "auth-secret": "basic-auth",
        "auth-realm": "Staff only",
      }),
      ingress("basic-map", "map.test", {
        "auth-type": "basic",
        "auth-secret": "default/basic-map",
        "auth-secret-type": "auth-map",
      }),
      ingress("missing", "missing.test", {
        "auth-type": "basic",
        "auth-secret": "something",
        "auth-realm": "x",
      }),
      ingress("digest", "digest.test", { "auth-type": "digest", "auth-secret": "basic-auth" }),
      ingress("ext", "ext.test", {
        "auth-url": "http://auth.default.svc.cluster.local/check",
        "auth-response-headers": "X-User",
      }),
      ingress("signin", "signin.test", {
        "auth-url": `http://127.0.0.1:${authPort}/check`,
        "auth-signin": "https://login.example/start",
        "auth-method": "POST",
      }),
      ingress("down", "down.test", { "auth-url": "http://down.default.svc.cluster.local/check" }),
      backendService("default", "err-app", errApp),
      backendService("default", "pages", pages),
      `apiVersion: v1
kind: Service
metadata: { name: empty, namespace: default }
spec: { ports: [{ name: http, port: 80, targetPort: 9 }] }
`,
      ingress(
        "errors",
        "errors.test",
        { "custom-http-errors": "404,503", "default-backend": "pages" },
        "err-app",
      ),
      ingress("empty", "empty.test", { "default-backend": "pages" }, "empty"),
    ].join("---\n"),
  );
  port = await freePort(VIP);
  p = await startPortico([dir], ["--state-dir", state, "--http-port", String(port)]);
  cleanups.push(() => p.stop());
});

// get asks over HTTP/1.1 (fetch does not let Host be set, so node:http).
async function get(
  host: string,
  headers: Record<string, string> = {},
  path = "/",
  method = "GET",
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const { request } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request({ host: VIP, port, path, method, headers: { host, ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const basic = (user: string, pass: string) => ({ authorization: `Basic ${b64(`${user}:${pass}`)}` });

test("basic auth: 401 with the realm without credentials or with a wrong password, 200 with right ones", async () => {
  const none = await get("basic.test");
  assert.equal(none.status, 401);
  assert.equal(none.headers["www-authenticate"], 'Basic realm="Staff only"');
  assert.equal((await get("basic.test", basic("alice", "wrong"))).status, 401);
  assert.equal((await get("basic.test", basic("nobody", "secret"))).status, 401);
  const before = app.seen.length;
  const ok = await get("basic.test", basic("alice", "secret"), "/x");
  assert.equal(ok.status, 200, "bcrypt user");
  assert.match(ok.body, /^app GET \/x/);
  assert.equal(app.seen.length, before + 1, "refused requests never reached the backend");
  assert.equal(
    (await get("basic.test", basic("alice", "secret"))).status,
    200,
    "again (cached verification)",
  );
  assert.equal((await get("basic.test", basic("bob", "secret"))).status, 200, "apr1 user");
  assert.equal((await get("basic.test", basic("dave", "secret"))).status, 401, "DES crypt user is refused");
  assert.equal((await get("map.test", basic("carol", "secret"))).status, 200, "auth-map with {SHA}");
  assert.equal((await get("map.test", basic("carol", "wrong"))).status, 401);
});

test("basic auth that cannot be set up fails closed with a condition: missing Secret, digest", async () => {
  assert.equal((await get("missing.test")).status, 503);
  assert.equal((await get("missing.test", basic("alice", "secret"))).status, 503);
  assert.equal((await get("digest.test", basic("alice", "secret"))).status, 503);
  const status = await p.status();
  const cond = (name: string) =>
    status
      .find((s) => s.kind === "Ingress" && s.name === name)
      ?.status.conditions?.map((c) => c.message ?? "")
      .join("\n") ?? "";
  assert.match(cond("missing"), /Secret default\/something not found/);
  assert.match(cond("digest"), /digest is not supported/);
  assert.match(cond("basic"), /user "dave" has a password hash Portico cannot check/);
  assert.doesNotMatch(
    JSON.stringify(status) + p.logs.join("\n"),
    /PjUcXtTSu2HaA|\$apr1\$M6|wO4AyEaHB8/,
    "no hash leaks",
  );
});

test("external auth over HTTP/1.1: 401, 403, other answers 500, 2xx passes with the listed headers", async () => {
  const denied = await get("ext.test");
  assert.equal(denied.status, 401);
  assert.equal(denied.headers["www-authenticate"], 'Bearer realm="test"', "the auth service's challenge");
  assert.equal((await get("ext.test", { authorization: "Bearer forbidden" })).status, 403);
  assert.equal((await get("ext.test", { authorization: "Bearer odd" })).status, 500);
  authSeen.length = 0;
  const before = app.seen.length;
  const ok = await get("ext.test", { authorization: "Bearer good" }, "/a/b?c=d", "POST", "the body");
  assert.equal(ok.status, 200);
  assert.match(ok.body, /^app POST \/a\/b\?c=d/);
  assert.equal(ok.headers["set-cookie"]?.[0], "session=fresh", "the auth answer's cookie reaches the client");
  const seen = app.seen[before]!;
  assert.equal(seen.headers["x-user"], "alice", "auth-response-headers copied upstream");
  assert.equal(seen.headers["x-extra"], undefined, "unlisted headers are not");
  const a = authSeen[0]!;
  assert.equal(a["x-original-url"], "http://ext.test/a/b?c=d");
  assert.equal(a["x-original-method"], "POST");
  assert.equal(a["x-forwarded-host"], "ext.test");
  assert.equal(a["x-forwarded-proto"], "http");
  assert.equal(a["x-real-ip"], "127.0.0.1");
  assert.equal(a["x-auth-request-redirect"], "/a/b?c=d");
  assert.equal(a.host, "auth.default.svc.cluster.local");
  assert.ok((a["content-length"] ?? "0") === "0", "the body is not sent to the auth service");
  assert.equal(a[":method"], "POST", "the original method without auth-method");
});

test("external auth: auth-signin turns 401 into a 302 with rd=; auth-method is used; service down is 500", async () => {
  authSeen.length = 0;
  const r = await get("signin.test", {}, "/deep/page?x=1");
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, "https://login.example/start?rd=http://signin.test%2Fdeep%2Fpage%3Fx%3D1");
  assert.equal(authSeen.length, 1);
  assert.equal(authSeen[0]!["x-original-method"], "GET");
  assert.equal(authSeen[0]![":method"], "POST", "auth-method");
  const down = await get("down.test", { authorization: "Bearer good" });
  assert.equal(down.status, 500, "an auth service that cannot be reached never lets the request through");
});

// h2 makes one HTTP/2 request over cleartext prior knowledge.
async function h2(
  host: string,
  headers: Record<string, string>,
  path = "/",
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  const session = http2.connect(`http://${VIP}:${port}`);
  try {
    const req = session.request({ ":authority": host, ":path": path, ...headers });
    const [head] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    await once(req, "end");
    return { status: Number(head[":status"]), headers: head, body };
  } finally {
    session.close();
  }
}

test("external and basic auth over HTTP/2", async () => {
  assert.equal((await h2("ext.test", {})).status, 401);
  assert.equal((await h2("ext.test", { authorization: "Bearer forbidden" })).status, 403);
  const before = app.seen.length;
  const ok = await h2("ext.test", { authorization: "Bearer good" }, "/h2");
  assert.equal(ok.status, 200);
  assert.match(ok.body, /^app GET \/h2/);
  assert.equal(app.seen[before]!.headers["x-user"], "alice");
  const signin = await h2("signin.test", {}, "/p");
  assert.equal(signin.status, 302);
  assert.equal(signin.headers.location, "https://login.example/start?rd=http://signin.test%2Fp");
  assert.equal((await h2("down.test", {})).status, 500);
  assert.equal((await h2("basic.test", {})).status, 401);
  assert.equal((await h2("basic.test", basic("bob", "secret"))).status, 200);
});

test("custom-http-errors: a listed code gets the default backend's page with ingress-nginx's headers", async () => {
  pagesSeen.length = 0;
  const r = await get("errors.test", { accept: "text/html", "x-request-id": "req-1" }, "/missing");
  assert.equal(r.status, 404);
  assert.equal(r.headers["content-type"], "text/html");
  assert.match(r.body, /<h1>custom 404<\/h1>/);
  const h = pagesSeen[0]!;
  assert.equal(h["x-code"], "404");
  assert.equal(h["x-format"], "text/html");
  assert.equal(h["x-original-uri"], "/missing");
  assert.equal(h["x-namespace"], "default");
  assert.equal(h["x-ingress-name"], "errors");
  assert.equal(h["x-service-name"], "err-app");
  assert.equal(h["x-service-port"], "80");
  assert.equal(h["x-request-id"], "req-1");
  const down = await get("errors.test", {}, "/down");
  assert.equal(down.status, 503);
  assert.match(down.body, /custom 503/);
  const teapot = await get("errors.test", {}, "/teapot");
  assert.equal(teapot.status, 418, "an unlisted code passes as it is");
  assert.equal(teapot.body, "app says 418\n");
  const ok = await get("errors.test", {}, "/fine");
  assert.equal(ok.status, 200);
  assert.equal(
    ok.body,
    "app says 200\n",
    "the connection dropped for a replaced answer is not reused wrongly",
  );
  const h2down = await h2("errors.test", {}, "/down");
  assert.equal(h2down.status, 503);
  assert.equal(h2down.headers["content-type"], "text/html");
  assert.match(h2down.body, /custom 503/);
});

test("default-backend alone serves a route whose Service has no endpoints", async () => {
  pagesSeen.length = 0;
  const r = await get("empty.test", {}, "/anything");
  assert.equal(r.status, 404, "the default backend's own answer (no X-Code: 404)");
  assert.match(r.body, /custom 404/);
  assert.equal(pagesSeen.length, 1);
});

test("HTTP/1.1 pipelining: answers keep the requests' order when the second's auth answers first", async () => {
  const s = connect({ host: VIP, port });
  cleanups.push(() => void s.destroy());
  await once(s, "connect");
  s.write(
    "GET /first HTTP/1.1\r\nHost: ext.test\r\nAuthorization: Bearer slow\r\n\r\n" +
      "GET /second HTTP/1.1\r\nHost: ext.test\r\nAuthorization: Bearer fast\r\n\r\n",
  );
  const text = await readUntil(s, (d) => d.includes("app GET /second"));
  assert.ok(text.indexOf("app GET /first") !== -1, "the first request was answered");
  assert.ok(text.indexOf("app GET /first") < text.indexOf("app GET /second"), "in order");
  s.destroy();
});

test("a client gone while its auth check is pending cancels the check (HTTP/1.1 and HTTP/2)", async () => {
  const before = app.seen.length;
  const s = connect({ host: VIP, port });
  await once(s, "connect");
  const asked = authSeen.length;
  s.write("GET /gone HTTP/1.1\r\nHost: ext.test\r\nAuthorization: Bearer hang\r\n\r\n");
  await waitFor("the auth check to start", () => authSeen.length > asked);
  // A reset, not a FIN: a half-closed HTTP/1.1 client may still read its answer (http1.ts onEnd).
  s.resetAndDestroy();
  await waitFor("the auth subrequest to be closed", () => hangClosed === 1);
  const session = http2.connect(`http://${VIP}:${port}`);
  cleanups.push(() => session.destroy());
  const asked2 = authSeen.length;
  const req = session.request({ ":authority": "ext.test", ":path": "/gone2", authorization: "Bearer hang" });
  req.on("error", () => {});
  await waitFor("the HTTP/2 auth check to start", () => authSeen.length > asked2);
  req.close(http2.constants.NGHTTP2_CANCEL);
  await waitFor("the HTTP/2 auth subrequest to be closed", () => hangClosed === 2);
  // The session is still usable, and nothing of the cancelled requests reached the backend.
  assert.equal((await h2("ext.test", { authorization: "Bearer good" }, "/after")).status, 200);
  session.close();
  assert.deepEqual(
    app.seen.slice(before).map((x) => x.url),
    ["/after"],
  );
});
