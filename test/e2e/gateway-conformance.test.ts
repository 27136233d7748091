// gateway-conformance.test.ts: Gateway API conformance tests that need traffic, run end to end.
// `portico run` serves src/translate/testdata/gw-conf-e2e-http.in.yaml (the upstream manifests, the
// same-namespace Gateway on 127.0.40.1:80) in front of three echo backends on 127.0.40.11-13:3000
// that answer like the suite's echo-basic; every request of gw-conf-e2e-requests.json (taken from
// the tests' .go files) is sent with a real HTTP client and compared as the suite's
// CompareRoundTrip does: status, redirect target, the request the backend saw, response headers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import {
  createServer as createH2c,
  connect as connectH2,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from "node:http2";
import { connect as connectTcp, type Server } from "node:net";
import { readFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, startPortico, waitFor, removeDir, type Portico } from "./harness.ts";

const VIP = "127.0.40.1";
const testdata = join(import.meta.dirname, "../../src/translate/testdata");
const BACKENDS = ["infra-backend-v1", "infra-backend-v2", "infra-backend-v3"];

/** Expected is one ExpectedResponse of a conformance test, as extracted from its .go file. */
interface Expected {
  Request: {
    Host: string;
    Path: string;
    Method?: string;
    Headers?: Record<string, string>;
    Protocol?: string;
  };
  ExpectedRequest?: {
    Request?: { Host?: string; Path?: string; Method?: string; Headers?: Record<string, string> };
    AbsentHeaders?: string[];
  };
  BackendSetResponseHeaders?: Record<string, string>;
  Response?: {
    StatusCode?: number;
    StatusCodes?: number[];
    Headers?: Record<string, string>;
    AbsentHeaders?: string[];
  };
  RedirectRequest?: { Scheme?: string; Host?: string; Port?: string; Path?: string };
  Backend?: string;
  /** Address is the Gateway's address when not 127.0.40.1 (the port then comes from Host). */
  Address?: string;
  MirroredTo?: { BackendRef: { Name: string } }[];
}

/** Echoed is what an echo backend saw. */
interface Echoed {
  path: string;
  host: string;
  method: string;
  namespace: string;
  pod: string;
  protocol: string;
  headers: Record<string, string[]>;
}

let dir: string, state: string;
let p: Portico;
const servers: Server[] = [];
/** seen lists the paths each backend was sent, mirrors included. */
const seen = new Map<string, string[]>(BACKENDS.map((b) => [b, []]));

/** delayOf reads echo-basic's ?delay= (a Go duration: ms or s). */
function delayOf(url: string): number {
  const m = /[?&]delay=(\d+)(ms|s)/.exec(url);
  return m ? Number(m[1]) * (m[2] === "s" ? 1000 : 1) : 0;
}

/** echo answers like echo-basic: the request as JSON (after ?delay=), X-Echo-Set-Header's headers on the response. */
function answer(
  name: string,
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) {
  const url = req.url ?? "/";
  seen.get(name)!.push(url);
  const set = req.headers["x-echo-set-header"];
  for (const h of typeof set === "string" && set !== "" ? set.split(",") : []) {
    const i = h.indexOf(":");
    res.setHeader(h.slice(0, i).trim(), h.slice(i + 1).trim());
  }
  const headers: Record<string, string[]> = {};
  // Http2ServerRequest has no headersDistinct; its repeated headers arrive as arrays already.
  const distinct = "headersDistinct" in req ? req.headersDistinct : req.headers;
  for (const [k, v] of Object.entries(distinct))
    if (!k.startsWith(":") && v !== undefined) headers[k] = ([] as string[]).concat(v);
  const body: Echoed = {
    path: url,
    host: String(req.headers.host ?? req.headers[":authority"] ?? ""),
    method: req.method ?? "",
    protocol: `HTTP/${req.httpVersion}`,
    namespace: "gateway-conformance-infra",
    pod: `${name}-pod`,
    headers,
  };
  res.setHeader("content-type", "application/json");
  setTimeout(() => res.end(JSON.stringify(body)), delayOf(url));
}

/** listen starts an echo backend: HTTP/1.1 on port 3000, h2c with prior knowledge on 3001. */
function listen(name: string, host: string, port: 3000 | 3001): Promise<Server> {
  const s: Server =
    port === 3000
      ? createServer((req, res) => answer(name, req, res))
      : createH2c((req, res) => answer(name, req, res));
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.listen(port, host, () => resolve(s));
  });
}

/** Reply is a captured response. */
interface Reply {
  status: number;
  headers: Map<string, string[]>;
  body: string;
}

/** sendH2c makes one request with HTTP/2 prior knowledge (roundtripper.H2CPriorKnowledgeProtocol). */
function sendH2c(e: Expected): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const session = connectH2(`http://${e.Address ?? VIP}:${e.Address ? portOf(e.Request.Host) : 80}`);
    session.once("error", reject);
    const req = session.request({
      ":path": e.Request.Path,
      ":method": e.Request.Method ?? "GET",
      ":authority": e.Request.Host,
      ...e.Request.Headers,
    });
    const got = new Map<string, string[]>();
    let status = 0;
    req.on("response", (h) => {
      status = Number(h[":status"]);
      for (const [k, v] of Object.entries(h))
        if (!k.startsWith(":")) got.set(k, ([] as string[]).concat(String(v)));
    });
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => {
      session.close();
      resolve({ status, headers: got, body });
    });
    req.on("error", reject);
    req.end();
  });
}

/** rawHead sends a HEAD request on its own connection and resolves with everything the Gateway wrote. */
function rawHead(e: Expected): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connectTcp(80, e.Address ?? VIP, () =>
      s.write(`HEAD ${e.Request.Path} HTTP/1.1\r\nHost: ${e.Request.Host}\r\nConnection: close\r\n\r\n`),
    );
    let out = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => (out += d));
    s.on("end", () => resolve(out));
    s.on("error", reject);
  });
}

/** send makes one request to the Gateway with the suite's headers. */
function send(e: Expected): Promise<Reply> {
  // HEAD is read raw (the test of its own below checks no body follows): only the status matters
  // for the suite.
  if (e.Request.Method === "HEAD")
    return rawHead(e).then((raw) => ({ status: Number(raw.split(" ")[1]), headers: new Map(), body: "" }));
  if (e.Request.Protocol === "$roundtripper.H2CPriorKnowledgeProtocol") return sendH2c(e);
  const headers: Record<string, string> = { host: e.Request.Host, ...e.Request.Headers };
  const set = Object.entries(e.BackendSetResponseHeaders ?? {}).map(([k, v]) => `${k}:${v}`);
  headers["X-Echo-Set-Header"] = set.join(",");
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: e.Address ?? VIP,
        port: e.Address ? portOf(e.Request.Host) : 80,
        path: e.Request.Path,
        method: e.Request.Method ?? "GET",
        headers,
        agent: false,
      },
      (res) => {
        const got = new Map<string, string[]>();
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const k = res.rawHeaders[i]!.toLowerCase();
          got.set(k, [...(got.get(k) ?? []), res.rawHeaders[i + 1]!]);
        }
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, headers: got, body }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** portOf is the port a Host header names, 80 without one. */
function portOf(host: string): number {
  const m = /:(\d+)$/.exec(host);
  return m ? Number(m[1]) : 80;
}

/** compare returns how a reply differs from the expectation (CompareRoundTrip), or "" when it matches. */
function compare(e: Expected, r: Reply): string {
  const want = e.Response?.StatusCode ?? e.Response?.StatusCodes?.[0] ?? 200;
  if (r.status !== want) return `status ${r.status}, want ${want} (${r.body.slice(0, 200)})`;
  if (e.RedirectRequest && r.status >= 300 && r.status < 400) {
    const loc = r.headers.get("location")?.[0];
    if (loc === undefined) return "a redirect without Location";
    const u = new URL(loc);
    const x = e.RedirectRequest;
    const scheme = u.protocol.slice(0, -1);
    if ((x.Host ?? u.hostname) !== u.hostname) return `redirect host ${u.hostname}, want ${x.Host} (${loc})`;
    if (x.Port !== undefined) {
      if (u.port !== x.Port) return `redirect port "${u.port}", want ${x.Port} (${loc})`;
    } else if (u.port !== "") {
      // URL drops a scheme's default port, so any port left is not 80 for http nor 443 for https.
      return `redirect port ${u.port} for ${scheme} (${loc})`;
    }
    if ((x.Scheme ?? "http") !== scheme) return `redirect scheme ${scheme}, want ${x.Scheme ?? "http"}`;
    if ((x.Path ?? e.Request.Path.split("?")[0]) !== u.pathname)
      return `redirect path ${u.pathname}, want ${x.Path ?? e.Request.Path} (${loc})`;
    return "";
  }
  if (r.status !== 200) return "";
  const seen = JSON.parse(r.body) as Echoed;
  const x = e.ExpectedRequest?.Request ?? e.Request;
  const host = e.ExpectedRequest?.Request?.Host ?? e.Request.Host;
  if (host !== seen.host) return `backend saw host ${seen.host}, want ${host}`;
  const path = e.ExpectedRequest?.Request?.Path ?? e.Request.Path;
  if (path !== seen.path) return `backend saw path ${seen.path}, want ${path}`;
  if ((x.Method ?? "GET") !== seen.method) return `backend saw method ${seen.method}`;
  for (const [k, v] of Object.entries(e.ExpectedRequest?.Request?.Headers ?? {})) {
    const got = seen.headers[k.toLowerCase()];
    if (got?.join(",") !== v) return `backend saw ${k}: ${JSON.stringify(got)}, want ${v}`;
  }
  for (const k of e.ExpectedRequest?.AbsentHeaders ?? [])
    if (seen.headers[k.toLowerCase()]) return `backend saw ${k}: ${seen.headers[k.toLowerCase()]}`;
  for (const [k, v] of Object.entries(e.Response?.Headers ?? {})) {
    const got = r.headers.get(k.toLowerCase());
    if (got?.join(",") !== v) return `response ${k}: ${JSON.stringify(got)}, want ${v}`;
  }
  for (const k of e.Response?.AbsentHeaders ?? [])
    if (r.headers.has(k.toLowerCase())) return `response has ${k}: ${r.headers.get(k.toLowerCase())}`;
  if (!seen.pod.startsWith(e.Backend ?? "")) return `answered by ${seen.pod}, want ${e.Backend}`;
  return "";
}

const requests = JSON.parse(readFileSync(join(testdata, "gw-conf-e2e-requests.json"), "utf8")) as Record<
  string,
  Expected[] | string
>;

before(async () => {
  dir = tempDir();
  state = tempDir();
  for (const [i, name] of BACKENDS.entries())
    for (const port of [3000, 3001] as const) servers.push(await listen(name, `127.0.40.${11 + i}`, port));
  copyFileSync(join(testdata, "gw-conf-e2e-http.in.yaml"), join(dir, "conformance.yaml"));
  p = await startPortico([dir], ["--state-dir", state]);
  const first = (requests["httproute-simple-same-namespace"] as Expected[])[0]!;
  await waitFor("the Gateway to route", async () => (await send(first)).status === 200);
});

after(async () => {
  await p?.stop();
  for (const s of servers) s.close();
  for (const d of [dir, state]) if (d) removeDir(d);
});

for (const [name, list] of Object.entries(requests)) {
  if (typeof list === "string" || name === "httproute-weight") continue;
  test(`conformance e2e: ${name} (${list.length} requests)`, async () => {
    const failures: string[] = [];
    for (const e of list) {
      const why = compare(e, await send(e));
      for (const m of e.MirroredTo ?? []) {
        const mirror = m.BackendRef.Name;
        const path = e.Request.Path;
        await waitFor(`${mirror} to see ${path}`, () => seen.get(mirror)!.includes(path), 5000);
      }
      if (why !== "")
        failures.push(`${e.Request.Method ?? "GET"} ${e.Request.Host}${e.Request.Path}: ${why}`);
    }
    assert.deepEqual(failures, []);
  });
}

test("conformance e2e: httproute-weight (70/30/0 over 300 requests)", async () => {
  const [e] = requests["httproute-weight"] as Expected[];
  const count = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const r = await send(e!);
    assert.equal(compare(e!, r), "");
    const pod = (JSON.parse(r.body) as Echoed).pod.replace(/-pod$/, "");
    count.set(pod, (count.get(pod) ?? 0) + 1);
  }
  // The suite allows 5% of 500 requests each way; 300 random draws stay within 10% (over 4 sigma).
  const share = (b: string) => (count.get(b) ?? 0) / 300;
  assert.ok(Math.abs(share("infra-backend-v1") - 0.7) < 0.1, JSON.stringify([...count]));
  assert.ok(Math.abs(share("infra-backend-v2") - 0.3) < 0.1, JSON.stringify([...count]));
  assert.equal(count.get("infra-backend-v3"), undefined, "weight 0 gets no traffic");
});

test("HEAD: a local answer (404, redirect) carries no body (RFC 9110 9.3.2)", async () => {
  const e = (requests["httproute-method-matching"] as Expected[]).find((x) => x.Request.Method === "HEAD")!;
  const raw = await rawHead(e);
  assert.match(raw, /^HTTP\/1\.1 404 /);
  assert.equal(raw.slice(raw.indexOf("\r\n\r\n") + 4), "", "no bytes after the head");
});
