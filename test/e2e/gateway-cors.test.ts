// gateway-cors.test.ts: `portico run` on the Gateway API conformance test HTTPRouteCORS's routes
// (tests/httproute-cors.yaml, v1.6.3) and its requests, with curl over HTTP/1.1 and HTTP/2 (h2c
// prior knowledge). VIP 127.0.44.1, listener port 18440, one echo backend.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { tempDir, writeManifest, startPortico, run, waitFor, removeDir, type Portico } from "./harness.ts";
import { httpBackend, pool, backendService, type HttpBackend } from "./fixtures.ts";
import { gatewayClass } from "./gateway-helpers.ts";

const PORT = 18440;
const VIP = "127.0.44.1";
let dir: string, state: string;
let echo: HttpBackend;
let p: Portico;

const cors = (name: string, prefix: string, spec: string) => `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: infra }
spec:
  parentRefs: [{ name: gw }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: ${prefix} } }]
      filters: [{ type: CORS, cors: ${spec} }]
      backendRefs: [{ name: echo, port: 80 }]
`;

const manifests = `${gatewayClass}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: infra }
spec:
  gatewayClassName: portico
  listeners: [{ name: http, port: ${PORT}, protocol: HTTP }]
${cors(
  "cors-multiple-origins-methods-headers",
  "/cors-1",
  `{ allowOrigins: ["https://www.foo.com", "https://*.bar.com"], allowMethods: [GET, OPTIONS],
         allowHeaders: [x-header-1, x-header-2], exposeHeaders: [x-header-3, x-header-4],
         allowCredentials: true, maxAge: 3600 }`,
)}${cors("cors-wildcard-methods", "/cors-2", `{ allowOrigins: ["https://www.foo.com"], allowMethods: ["*"] }`)}${cors(
  "cors-wildcard-origin",
  "/cors-wildcard-origin",
  `{ allowOrigins: ["*"], allowMethods: [PUT], allowCredentials: false }`,
)}${cors(
  "cors-wildcard-methods-headers-auth",
  "/cors-wildcard-methods-headers",
  `{ allowOrigins: ["https://other.foo.com"], allowMethods: ["*"], allowHeaders: ["*"], allowCredentials: true }`,
)}${cors(
  "cors-wildcard-methods-headers-unauth",
  "/cors-wildcard-methods-headers-unauth",
  `{ allowOrigins: ["https://other.foo.com"], allowMethods: ["*"], allowHeaders: ["*"] }`,
)}`;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** send makes one request with curl and returns the final status, headers (lower-case) and body. */
async function send(
  h2: boolean,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<Answer> {
  const args = ["-sS", "-i", "--max-time", "5", "-X", method, h2 ? "--http2-prior-knowledge" : "--http1.1"];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
  const { stdout, code, stderr } = await run("curl", [...args, `http://${VIP}:${PORT}${path}`]);
  assert.equal(code, 0, stderr);
  const split = stdout.indexOf("\r\n\r\n");
  const lines = stdout.slice(0, split).split("\r\n");
  const status = Number(lines[0]!.split(" ")[1]);
  const out: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    const k = l.slice(0, i).toLowerCase();
    const v = l.slice(i + 1).trim();
    out[k] = out[k] === undefined ? v : `${out[k]}, ${v}`;
  }
  return { status, headers: out, body: stdout.slice(split + 4) };
}

before(async () => {
  dir = tempDir();
  state = tempDir();
  echo = await httpBackend("echo");
  writeManifest(dir, "pool.yaml", pool("gw-cors", [`${VIP}-${VIP}`]));
  writeManifest(dir, "gateway.yaml", manifests);
  writeManifest(dir, "backend.yaml", backendService("infra", "echo", echo.port));
  p = await startPortico([dir], ["--state-dir", state]);
  await waitFor(
    "the CORS routes to serve",
    async () =>
      (await send(false, "GET", "/cors-wildcard-methods-headers-unauth", {})).body ===
      "echo GET /cors-wildcard-methods-headers-unauth\n",
  );
});

after(async () => {
  await p?.stop();
  echo?.close();
  for (const d of [dir, state]) if (d) removeDir(d);
});

const preflight12 = {
  "access-control-request-method": "GET",
  "access-control-request-headers": "x-header-1, x-header-2",
};

for (const h2 of [false, true]) {
  const proto = h2 ? "HTTP/2" : "HTTP/1.1";

  test(`${proto}: preflights from exact and wildcard origins are answered by the proxy`, async () => {
    const before = echo.seen.length;
    for (const origin of ["https://www.foo.com", "https://www.bar.com", "https://xpto.www.bar.com"]) {
      const a = await send(h2, "OPTIONS", "/cors-1", { Origin: origin, ...preflight12 });
      assert.equal(a.status, 200, origin);
      assert.equal(a.headers["access-control-allow-origin"], origin);
      assert.equal(a.headers["access-control-allow-methods"], "GET, OPTIONS");
      assert.equal(a.headers["access-control-allow-headers"], "x-header-1, x-header-2");
      assert.equal(a.headers["access-control-expose-headers"], "x-header-3, x-header-4");
      assert.equal(a.headers["access-control-max-age"], "3600");
      assert.equal(a.headers["access-control-allow-credentials"], "true");
      assert.equal(a.headers["vary"], "Origin");
    }
    assert.equal(echo.seen.length, before, "a preflight never reaches the backend");
  });

  test(`${proto}: a preflight from a disallowed origin gets no CORS headers`, async () => {
    const a = await send(h2, "OPTIONS", "/cors-1", {
      Origin: "https://foobar.com",
      "access-control-request-method": "GET",
    });
    assert.ok([200, 204, 403].includes(a.status));
    assert.equal(a.headers["access-control-allow-origin"], undefined);
    assert.equal(a.headers["access-control-allow-methods"], undefined);
  });

  test(`${proto}: actual requests get Allow-Origin for allowed origins only, and reach the backend`, async () => {
    for (const origin of ["https://www.foo.com", "https://www.bar.com"]) {
      const a = await send(h2, "GET", "/cors-1", { Origin: origin, ...preflight12 });
      assert.equal(a.status, 200);
      assert.equal(a.body, "echo GET /cors-1\n");
      assert.equal(a.headers["access-control-allow-origin"], origin);
      assert.equal(a.headers["access-control-allow-credentials"], "true");
      assert.equal(a.headers["access-control-expose-headers"], "x-header-3, x-header-4");
      assert.equal(a.headers["vary"], "Origin");
    }
    const no = await send(h2, "GET", "/cors-1", {
      Origin: "https://foobar.com",
      "access-control-request-method": "GET",
    });
    assert.equal(no.status, 200);
    assert.equal(no.body, "echo GET /cors-1\n");
    assert.equal(no.headers["access-control-allow-origin"], undefined);
  });

  test(`${proto}: allowMethods '*' answers the requested method; no credentials unless allowed`, async () => {
    const a = await send(h2, "OPTIONS", "/cors-2", {
      Origin: "https://www.foo.com",
      "access-control-request-method": "POST",
    });
    assert.equal(a.status, 200);
    assert.ok(["POST", "*"].includes(a.headers["access-control-allow-methods"]!));
    assert.equal(a.headers["access-control-allow-origin"], "https://www.foo.com");
    assert.equal(a.headers["access-control-allow-credentials"], undefined);
  });

  test(`${proto}: allowOrigins '*' allows any origin, ports included`, async () => {
    for (const origin of ["https://foobar.com", "https://foobar.com:12345"]) {
      const pre = await send(h2, "OPTIONS", "/cors-wildcard-origin", {
        Origin: origin,
        "access-control-request-method": "PUT",
      });
      assert.equal(pre.status, 200);
      assert.ok([origin, "*"].includes(pre.headers["access-control-allow-origin"]!));
      assert.equal(pre.headers["access-control-allow-methods"], "PUT");
      assert.equal(pre.headers["access-control-allow-credentials"], undefined);
      const put = await send(h2, "PUT", "/cors-wildcard-origin", { Origin: origin });
      assert.equal(put.status, 200);
      assert.equal(put.body, "echo PUT /cors-wildcard-origin\n");
      assert.ok([origin, "*"].includes(put.headers["access-control-allow-origin"]!));
      assert.equal(put.headers["access-control-allow-credentials"], undefined);
    }
  });

  test(`${proto}: wildcard methods and headers with credentials echo the request, never '*'`, async () => {
    const ask = {
      Origin: "https://other.foo.com",
      "access-control-request-method": "PUT",
      "access-control-request-headers": "x-header-1, x-header-2",
    };
    const auth = await send(h2, "OPTIONS", "/cors-wildcard-methods-headers", ask);
    assert.equal(auth.status, 200);
    assert.equal(auth.headers["access-control-allow-origin"], "https://other.foo.com");
    assert.equal(auth.headers["access-control-allow-methods"], "PUT");
    assert.equal(auth.headers["access-control-allow-headers"], "x-header-1, x-header-2");
    assert.equal(auth.headers["access-control-allow-credentials"], "true");
    const unauth = await send(h2, "OPTIONS", "/cors-wildcard-methods-headers-unauth", ask);
    assert.equal(unauth.status, 200);
    assert.ok(["https://other.foo.com", "*"].includes(unauth.headers["access-control-allow-origin"]!));
    assert.equal(unauth.headers["access-control-allow-credentials"], undefined);
    const bearer = { Origin: "https://other.foo.com", Authorization: "Bearer test" };
    const get = await send(h2, "GET", "/cors-wildcard-methods-headers", bearer);
    assert.equal(get.status, 200);
    assert.equal(get.headers["access-control-allow-origin"], "https://other.foo.com");
    assert.equal(get.headers["access-control-allow-credentials"], "true");
    const getUnauth = await send(h2, "GET", "/cors-wildcard-methods-headers-unauth", bearer);
    assert.equal(getUnauth.status, 200);
    assert.equal(getUnauth.headers["access-control-allow-origin"], "https://other.foo.com");
    assert.equal(getUnauth.headers["access-control-allow-credentials"], undefined);
  });
}

test("a plain OPTIONS (no Origin, no Access-Control-Request-Method) goes to the backend", async () => {
  const a = await send(false, "OPTIONS", "/cors-1", {});
  assert.equal(a.status, 200);
  assert.equal(a.body, "echo OPTIONS /cors-1\n");
  assert.equal(a.headers["access-control-allow-origin"], undefined);
});
