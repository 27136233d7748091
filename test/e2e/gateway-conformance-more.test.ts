// gateway-conformance-more.test.ts: more Gateway API conformance tests run end to end through
// `portico run` — listener isolation, hostname matching and intersection, cross-namespace routes,
// ReferenceGrants for Secrets and backends, parentRef and backendRef rejections. Each case is the
// ported manifest src/translate/testdata/gw-conf-<test>.in.yaml (its .go expectations are checked
// at translator level in src/translate/gateway-conformance.test.ts); here one Portico serves them in
// turn from a watched directory, with the VipPool moved to 127.0.47.1-9 and an EndpointSlice added
// for every Service (echo backends on 127.0.47.20+:3000 naming the Service that answered). Each case
// checks its statuses through the admin API, then sends the .go file's requests with a real client.
// gateway-observed-generation-bump and gateway-modify-listeners edit the file as the .go files patch
// the Gateway (gw-conf-more-*.yaml, metadata.generation bumped as the API server would); the
// listener hostname matching case runs once more with HTTPS listeners and an openssl certificate.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import { connect as connectTls } from "node:tls";
import { connect as connectTcp } from "node:net";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { tempDir, startPortico, run, waitFor, removeDir, type Portico, type StatusEntry } from "./harness.ts";
import { gatewayClass, cond, type Cond, type GwStatus } from "./gateway-helpers.ts";

const testdata = join(import.meta.dirname, "../../src/translate/testdata");
const INFRA = "gateway-conformance-infra";
const POOL = `apiVersion: portico.dev/v1alpha1
kind: VipPool
metadata: { name: default }
spec: { addresses: ["127.0.47.1-127.0.47.9"] }
`;

/** Expectation is one request of gw-conf-requests.json (gateway "*" is every Gateway of the case). */
interface Expectation {
  gateway: string;
  host: string;
  path: string;
  backend?: string;
  status?: number;
}

/** Want is one status condition a case expects: "Kind/ns/name[/listener|parent]" and the condition. */
type Want = [where: string, type: string, status: string, reason?: string];

/** Case is one ported conformance test: the statuses its .go file checks and the requests it sends. */
interface Case {
  want: Want[];
  /** attached is listener attachedRoutes by "ns/gateway/listener". */
  attached?: Record<string, number>;
  requests?: Expectation[];
}

const rejectedParent = (ns: string, route: string, gw: string, reason: string): Want[] => [
  [`HTTPRoute/${ns}/${route}/${gw}`, "Accepted", "False", reason],
  [`HTTPRoute/${ns}/${route}/${gw}`, "ResolvedRefs", "True", "ResolvedRefs"],
];
const badBackend = (route: string, reason: string): Want[] => [
  [`HTTPRoute/${INFRA}/${route}/same-namespace`, "Accepted", "True", "Accepted"],
  [`HTTPRoute/${INFRA}/${route}/same-namespace`, "ResolvedRefs", "False", reason],
];
const secretListener = (name: string, ok: boolean): Want[] =>
  ok
    ? [
        [`Gateway/${INFRA}/${name}/https`, "ResolvedRefs", "True", "ResolvedRefs"],
        [`Gateway/${INFRA}/${name}/https`, "Programmed", "True", "Programmed"],
        [`Gateway/${INFRA}/${name}`, "Programmed", "True", "Programmed"],
      ]
    : [[`Gateway/${INFRA}/${name}/https`, "ResolvedRefs", "False", "RefNotPermitted"]];
const notFound = (gateway: string, path = "/"): Expectation => ({ gateway, host: "", path, status: 404 });

const cases: Record<string, Case> = {
  "gateway-http-listener-isolation": { want: [] },
  "gateway-http-listener-isolation-with-hostname-intersection": { want: [] },
  "httproute-listener-hostname-matching": { want: [] },
  "httproute-hostname-intersection": {
    want: [
      [
        `HTTPRoute/${INFRA}/no-intersecting-hosts/httproute-hostname-intersection`,
        "Accepted",
        "False",
        "NoMatchingListenerHostname",
      ],
    ],
    attached: {
      [`${INFRA}/httproute-hostname-intersection/listener-1`]: 2,
      [`${INFRA}/httproute-hostname-intersection/listener-2`]: 1,
    },
  },
  "httproute-cross-namespace": {
    want: [
      [`HTTPRoute/gateway-conformance-web-backend/cross-namespace/backend-namespaces`, "Accepted", "True"],
      [
        `HTTPRoute/gateway-conformance-web-backend/cross-namespace/backend-namespaces`,
        "ResolvedRefs",
        "True",
      ],
    ],
  },
  "gateway-secret-invalid-reference-grant": {
    want: secretListener("gateway-secret-invalid-reference-grant", false),
  },
  "gateway-secret-missing-reference-grant": {
    want: [...secretListener("gateway-secret-missing-reference-grant", false)],
    attached: {
      [`${INFRA}/gateway-secret-missing-reference-grant/https`]: 0,
    },
  },
  "gateway-secret-reference-grant-all-in-namespace": {
    want: secretListener("gateway-secret-reference-grant-all-in-namespace", true),
  },
  "gateway-secret-reference-grant-specific": {
    want: secretListener("gateway-secret-reference-grant-specific", true),
  },
  "httproute-invalid-cross-namespace-backend-ref": {
    want: badBackend("invalid-cross-namespace-backend-ref", "RefNotPermitted"),
  },
  "httproute-invalid-cross-namespace-parent-ref": {
    want: rejectedParent(
      "gateway-conformance-web-backend",
      "invalid-cross-namespace-parent-ref",
      "same-namespace",
      "NotAllowedByListeners",
    ),
    attached: { [`${INFRA}/same-namespace/http`]: 0 },
  },
  "httproute-invalid-parentref-not-matching-listener-port": {
    want: rejectedParent(
      INFRA,
      "httproute-listener-not-matching-route-port",
      "same-namespace",
      "NoMatchingParent",
    ),
    attached: { [`${INFRA}/same-namespace/http`]: 0 },
    requests: [notFound("same-namespace")],
  },
  "httproute-invalid-parentref-not-matching-section-name": {
    want: rejectedParent(
      INFRA,
      "httproute-listener-not-matching-section-name",
      "same-namespace",
      "NoMatchingParent",
    ),
    attached: { [`${INFRA}/same-namespace/http`]: 0 },
    requests: [notFound("same-namespace")],
  },
  "httproute-partially-invalid-via-invalid-reference-grant": {
    want: badBackend("invalid-reference-grant", "RefNotPermitted"),
  },
  "httproute-reference-grant": {
    want: [[`HTTPRoute/${INFRA}/reference-grant/same-namespace`, "ResolvedRefs", "True", "ResolvedRefs"]],
    requests: [{ gateway: "same-namespace", host: "", path: "/", backend: "web-backend" }],
  },
  "httproute-disallowed-kind": {
    want: rejectedParent(INFRA, "disallowed-kind", "tlsroutes-only", "NotAllowedByListeners"),
  },
  "httproute-invalid-backendref-unknown-kind": {
    want: badBackend("invalid-backend-ref-unknown-kind", "InvalidKind"),
  },
  "httproute-invalid-nonexistent-backendref": {
    want: badBackend("invalid-nonexistent-backend-ref", "BackendNotFound"),
  },
  "httproute-invalid-reference-grant": {
    want: badBackend("reference-grant", "RefNotPermitted"),
    requests: [{ gateway: "same-namespace", host: "", path: "/", status: 500 }],
  },
};

const fromGo = JSON.parse(readFileSync(join(testdata, "gw-conf-requests.json"), "utf8")) as Record<
  string,
  Expectation[] | string
>;
// The isolation requests are sent to both isolation Gateways, which upstream keeps in two files.
fromGo["gateway-http-listener-isolation-with-hostname-intersection"] =
  fromGo["gateway-http-listener-isolation"]!;

let dir: string, state: string;
let p: Portico;
const servers: Server[] = [];
/** backendAt maps "ns/service" to its echo backend's address. */
const backendAt = new Map<string, string>();

/** caseText is the text of a case: gw-conf-<name>.in.yaml, or a gw-conf-more-<name>.yaml of this file. */
function caseText(name: string): string {
  const more = join(testdata, `gw-conf-more-${name}.yaml`);
  return readFileSync(existsSync(more) ? more : join(testdata, `gw-conf-${name}.in.yaml`), "utf8");
}

/** manifest is a case's ported manifests with the e2e VipPool and an EndpointSlice for each Service. */
function manifest(name: string, text = caseText(name)): string {
  const docs = parseAllDocuments(text);
  // The ported .in.yaml files bring the GatewayClass; this file's own cases do not.
  const out = text.includes("kind: GatewayClass") ? [POOL] : [POOL, gatewayClass];
  for (const d of docs) {
    const o = d.toJS() as {
      kind?: string;
      metadata: { name: string; namespace?: string };
      spec?: { ports?: { name?: string }[] };
    } | null;
    if (o === null || o.kind === "VipPool") continue;
    out.push(d.toString());
    if (o.kind !== "Service") continue;
    const key = `${o.metadata.namespace ?? "default"}/${o.metadata.name}`;
    // Slice ports pair with Service ports by name; every backend listens on 3000.
    const ports = (o.spec?.ports ?? []).map((x) => `{ name: "${x.name ?? ""}", port: 3000, protocol: TCP }`);
    out.push(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${o.metadata.name}-e2e
  namespace: ${o.metadata.namespace ?? "default"}
  labels: { kubernetes.io/service-name: ${o.metadata.name} }
addressType: IPv4
ports: [${ports.join(", ")}]
endpoints: [{ addresses: ["${backendAt.get(key)}"], conditions: { ready: true } }]
`);
  }
  return out.join("\n---\n");
}

/** serviceKeys lists the "ns/name" of every Service in the cases. */
function serviceKeys(): string[] {
  const keys = new Set<string>();
  for (const name of [...Object.keys(cases), "gateway-modify-listeners"])
    for (const d of parseAllDocuments(caseText(name))) {
      const o = d.toJS() as { kind?: string; metadata: { name: string; namespace?: string } } | null;
      if (o?.kind === "Service") keys.add(`${o.metadata.namespace ?? "default"}/${o.metadata.name}`);
    }
  return [...keys].sort();
}

/** get sends GET path with Host host to addr:80 and resolves with the status and the answering Service. */
function get(addr: string, host: string, path: string): Promise<{ status: number; pod: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: addr, port: 80, path, headers: host ? { host } : {}, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => {
          let pod = "";
          if (res.statusCode === 200) pod = (JSON.parse(body) as { pod: string }).pod;
          resolve({ status: res.statusCode!, pod });
        });
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** find returns the status of Kind/ns/name. */
function find(all: StatusEntry[], kind: string, ns: string, name: string): GwStatus | undefined {
  return all.find((s) => s.kind === kind && (s.namespace ?? "") === ns && s.name === name)?.status as
    GwStatus | undefined;
}

/** conditionsAt resolves "Kind/ns/name[/listener-or-parent]" to its conditions. */
function conditionsAt(all: StatusEntry[], where: string): Cond[] | undefined {
  const [kind, ns, name, sub] = where.split("/") as [string, string, string, string?];
  const s = find(all, kind, ns, name);
  if (sub === undefined) return s?.conditions;
  if (kind === "Gateway") return s?.listeners?.find((l) => l.name === sub)?.conditions;
  return s?.parents?.find((x) => x.parentRef.name === sub)?.conditions;
}

/** mismatches lists how the admin API's statuses differ from the case's expectations. */
async function mismatches(c: Case): Promise<string[]> {
  const all = await p.status();
  const bad: string[] = [];
  for (const [where, type, status, reason] of c.want) {
    const got = conditionsAt(all, where)?.find((x) => x.type === type);
    if (got?.status !== status || (reason !== undefined && got.reason !== reason))
      bad.push(`${where} ${type}: ${got?.status}/${got?.reason}, want ${status}/${reason ?? "*"}`);
  }
  for (const [key, n] of Object.entries(c.attached ?? {})) {
    const [ns, gw, l] = key.split("/") as [string, string, string];
    const got = find(all, "Gateway", ns, gw)?.listeners?.find((x) => x.name === l)?.attachedRoutes;
    if (got !== n) bad.push(`${key} attachedRoutes ${got}, want ${n}`);
  }
  return bad;
}

/** addressOf is the address the admin API shows for Gateway INFRA/name. */
async function addressOf(name: string): Promise<string | undefined> {
  return find(await p.status(), "Gateway", INFRA, name)?.addresses?.[0]?.value;
}

/** gatewaysOf lists the names of the case's Gateways. */
function gatewaysOf(name: string): string[] {
  return parseAllDocuments(readFileSync(join(testdata, `gw-conf-${name}.in.yaml`), "utf8"))
    .map((d) => d.toJS() as { kind?: string; metadata: { name: string } } | null)
    .filter((o) => o?.kind === "Gateway")
    .map((o) => o!.metadata.name);
}

before(async () => {
  dir = tempDir();
  state = tempDir();
  for (const [i, key] of serviceKeys().entries()) {
    const addr = `127.0.47.${20 + i}`;
    backendAt.set(key, addr);
    const s = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ pod: key.split("/")[1], host: req.headers.host, path: req.url }));
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(3000, addr, () => resolve());
    });
    servers.push(s);
  }
  writeFileSync(join(dir, "conformance.yaml"), `${POOL}---\n${gatewayClass}`);
  p = await startPortico([dir], ["--state-dir", state]);
});

after(async () => {
  await p?.stop();
  for (const s of servers) s.close();
  for (const d of [dir, state]) if (d) removeDir(d);
});

/** reset serves nothing but the pool and class, so no status or route of the case before can pass for the next one's. */
async function reset(): Promise<void> {
  writeFileSync(join(dir, "conformance.yaml"), `${POOL}---\n${gatewayClass}`);
  await waitFor("the previous case to go", async () =>
    (await p.status()).every((s) => s.kind !== "Gateway" && s.kind !== "HTTPRoute"),
  );
}

for (const [name, c] of Object.entries(cases)) {
  test(`conformance e2e: ${name}`, async () => {
    await reset();
    writeFileSync(join(dir, "conformance.yaml"), manifest(name));
    const gateways = gatewaysOf(name);
    const list = [...(c.requests ?? []), ...(Array.isArray(fromGo[name]) ? fromGo[name] : [])];
    // A Gateway whose every listener is invalid gets no address; only cases with traffic wait for one.
    if (list.length > 0)
      await waitFor(`${name}'s Gateways to get addresses`, async () => {
        for (const g of gateways) if ((await addressOf(g)) === undefined) return false;
        return true;
      });
    let bad: string[] = [];
    await waitFor(`${name}'s statuses`, async () => (bad = await mismatches(c)).length === 0, 5000).catch(
      () => undefined,
    );
    assert.deepEqual(bad, [], "statuses");
    const failures: string[] = [];
    for (const e of list) {
      for (const g of e.gateway === "*" ? gateways : [e.gateway]) {
        const addr = (await addressOf(g))!;
        const ok = (r: { status: number; pod: string }) =>
          e.backend !== undefined ? r.status === 200 && r.pod === e.backend : r.status === e.status;
        let last = { status: 0, pod: "" };
        // Eventually consistent, like the suite's MakeRequestAndExpectEventuallyConsistentResponse.
        await waitFor(
          `${e.host}${e.path}`,
          async () => ok((last = await get(addr, e.host, e.path))),
          3000,
        ).catch(() => undefined);
        if (!ok(last))
          failures.push(
            `${g} ${e.host || addr}${e.path}: ${last.status} ${last.pod}, want ${e.backend ?? e.status}`,
          );
      }
    }
    assert.deepEqual(failures, []);
  });
}

/** generations lists every observedGeneration on a Gateway's conditions and its listeners' conditions. */
function generations(s: GwStatus): (number | undefined)[] {
  const all = [...s.conditions, ...s.listeners.flatMap((l) => l.conditions)] as (Cond & {
    observedGeneration?: number;
  })[];
  return all.map((x) => x.observedGeneration);
}

test("conformance e2e: gateway-observed-generation-bump (the edited file's generation reaches every condition)", async () => {
  await reset();
  const text = caseText("gateway-observed-generation-bump");
  const gw = "gateway-observed-generation-bump";
  writeFileSync(join(dir, "conformance.yaml"), manifest(gw, text));
  const before = await waitFor("generation 1", async () => {
    const s = find(await p.status(), "Gateway", INFRA, gw);
    return s && s.listeners?.length === 1 ? s : undefined;
  });
  assert.ok(generations(before).length >= 4);
  assert.ok(
    generations(before).every((g) => g === 1),
    JSON.stringify(generations(before)),
  );
  // The .go file's patch: a listener "alternate" for foo.com; the API server bumps metadata.generation.
  const alternate = `    - name: alternate
      hostname: foo.com
      port: 80
      protocol: HTTP
      allowedRoutes:
        namespaces:
          from: All
`;
  writeFileSync(
    join(dir, "conformance.yaml"),
    manifest(gw, text.replace("generation: 1", "generation: 2") + alternate),
  );
  const after = await waitFor("generation 2", async () => {
    const s = find(await p.status(), "Gateway", INFRA, gw);
    return s && s.listeners?.length === 2 ? s : undefined;
  });
  assert.ok(
    generations(after).every((g) => g === 2),
    JSON.stringify(generations(after)),
  );
  assert.equal(cond(after.conditions, "Accepted"), "True");
  assert.equal(cond(after.conditions, "Programmed"), "True");
});

/** overTls sends GET / for host over TLS to addr:443 (SNI host) and resolves with the status and Service. */
function overTls(addr: string, host: string): Promise<{ status: number; pod: string }> {
  return new Promise((resolve, reject) => {
    const s = connectTls({ host: addr, port: 443, servername: host, rejectUnauthorized: false }, () =>
      s.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    let out = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => (out += d));
    s.on("end", () => {
      // 0: the Gateway closed the connection without an answer (-1 when not even the handshake completed).
      const status =
        out === "" ? (s.authorized || s.getPeerCertificate()?.raw ? 0 : -1) : Number(out.split(" ")[1]);
      const body = out.slice(out.indexOf("\r\n\r\n") + 4);
      resolve({ status, pod: status === 200 ? (/"pod":"([^"]+)"/.exec(body)?.[1] ?? "") : "" });
    });
    s.on("error", reject);
  });
}

/** refused resolves true once addr:port refuses TCP connections. */
function refused(addr: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connectTcp(port, addr, () => {
      s.destroy();
      resolve(false);
    });
    s.on("error", () => resolve(true));
  });
}

/** listenerView is a Gateway's listeners as name -> [Accepted, ResolvedRefs, attachedRoutes]. */
function listenerView(s: GwStatus | undefined): Record<string, [string?, string?, number?]> {
  return Object.fromEntries(
    (s?.listeners ?? []).map((l) => [
      l.name,
      [cond(l.conditions, "Accepted"), cond(l.conditions, "ResolvedRefs"), l.attachedRoutes],
    ]),
  );
}

test("conformance e2e: gateway-modify-listeners (add and remove a listener by editing the file)", async () => {
  await reset();
  const text = caseText("gateway-modify-listeners");
  writeFileSync(join(dir, "conformance.yaml"), manifest("gateway-modify-listeners", text));
  const add = await waitFor("gateway-add-listener's address", () => addressOf("gateway-add-listener"));
  const remove = await waitFor("gateway-remove-listener's address", () =>
    addressOf("gateway-remove-listener"),
  );
  await waitFor(
    "https on gateway-add-listener",
    async () => (await overTls(add, "secure.test.com")).pod === "foo-svc",
  );
  assert.equal(await refused(add, 80), true, "no http listener yet");
  // The .go file's two patches, with the generation bump the API server would make.
  const http = `    - name: http
      port: 80
      protocol: HTTP
      hostname: data.test.com
      allowedRoutes:
        namespaces:
          from: All
`;
  const docs = text.split("\n---\n");
  const gatewayDoc = (name: string) =>
    docs.findIndex((d) => d.includes(`kind: Gateway\nmetadata:\n  name: ${name}\n`));
  const [addAt, removeAt] = [gatewayDoc("gateway-add-listener"), gatewayDoc("gateway-remove-listener")];
  docs[addAt] = docs[addAt]!.replace("generation: 1", "generation: 2") + http;
  const removed = docs[removeAt]!.replace("generation: 1", "generation: 2").replace(
    / {4}- name: https\n[\s\S]*?namespace: gateway-conformance-infra\n(?= {4}- name: http\n)/,
    "",
  );
  assert.ok(!removed.includes("name: https"), removed);
  docs[removeAt] = removed;
  // An HTTPS connection open across the edit keeps working: the edit is hitless for listeners it keeps.
  const open = connectTls({ host: add, port: 443, servername: "secure.test.com", rejectUnauthorized: false });
  await new Promise((r, j) => open.once("secureConnect", r).once("error", j));
  writeFileSync(join(dir, "conformance.yaml"), manifest("gateway-modify-listeners", docs.join("\n---\n")));
  const want = { https: ["True", "True", 1], http: ["True", "True", 1] };
  await waitFor("gateway-add-listener's two listeners", async () => {
    const s = find(await p.status(), "Gateway", INFRA, "gateway-add-listener");
    return JSON.stringify(listenerView(s)) === JSON.stringify(want) && generations(s!).every((g) => g === 2);
  });
  await waitFor("gateway-remove-listener's one listener", async () => {
    const s = find(await p.status(), "Gateway", INFRA, "gateway-remove-listener");
    return (
      JSON.stringify(listenerView(s)) === JSON.stringify({ http: want.http }) &&
      generations(s!).every((g) => g === 2)
    );
  });
  await waitFor(
    "http on gateway-add-listener",
    async () => (await get(add, "data.test.com", "/")).pod === "foo-svc",
  );
  assert.equal((await get(add, "other.test.com", "/")).status, 404, "the new listener is for data.test.com");
  await waitFor("https gone from gateway-remove-listener", () => refused(remove, 443));
  assert.equal((await get(remove, "", "/")).pod, "foo-svc", "http stays on gateway-remove-listener");
  const reply = await new Promise<string>((resolve, reject) => {
    let out = "";
    open.setEncoding("utf8");
    open.on("data", (d: string) => (out += d));
    open.on("end", () => resolve(out));
    open.on("error", reject);
    open.write("GET / HTTP/1.1\r\nHost: secure.test.com\r\nConnection: close\r\n\r\n");
  });
  assert.match(reply, /^HTTP\/1\.1 200 [\s\S]*"pod":"foo-svc"/, "the connection opened before the edit");
});

test("httproute-listener-hostname-matching over TLS: HTTPS listeners pick by SNI and Host as the HTTP ones by Host", async () => {
  await reset();
  // The same manifest with each listener HTTPS on 443, all with one certificate for the four names.
  const certs = tempDir();
  const [crt, key] = [join(certs, "hm.crt"), join(certs, "hm.key")];
  const names = ["bar.com", "foo.bar.com", "*.bar.com", "*.foo.com"];
  const r = await run("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=bar.com"],
    ...["-addext", `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`],
  ]);
  assert.equal(r.code, 0, r.stderr);
  const b64 = (f: string) => Buffer.from(readFileSync(f)).toString("base64");
  const [crtB64, keyB64] = [b64(crt), b64(key)];
  removeDir(certs);
  const secret = `apiVersion: v1
kind: Secret
metadata: { name: hostname-matching-cert, namespace: ${INFRA} }
type: kubernetes.io/tls
data: { tls.crt: ${crtB64}, tls.key: ${keyB64} }
`;
  const text = caseText("httproute-listener-hostname-matching").replace(
    / {6}port: 80\n {6}protocol: HTTP\n/g,
    "      port: 443\n      protocol: HTTPS\n      tls: { certificateRefs: [{ name: hostname-matching-cert }] }\n",
  );
  assert.equal(text.match(/protocol: HTTPS/g)?.length, 4);
  writeFileSync(join(dir, "conformance.yaml"), `${manifest("x", text)}\n---\n${secret}`);
  const gw = "httproute-listener-hostname-matching";
  const addr = await waitFor(`${gw}'s address`, () => addressOf(gw));
  const failures: string[] = [];
  for (const e of fromGo[gw] as Expectation[]) {
    const got = await waitFor(
      `${e.host} over TLS`,
      async () => {
        const x = await overTls(addr, e.host).catch((err: Error) => ({ status: 0, pod: err.message }));
        return e.backend !== undefined ? x.pod === e.backend && x : x;
      },
      3000,
    ).catch(() => undefined);
    // A name no listener has gets no certificate (Portico ends the handshake: -1) or a 404.
    const ok =
      e.backend !== undefined
        ? got !== undefined
        : got !== undefined && (got.status === 404 || got.status === -1);
    if (!ok) failures.push(`${e.host}: ${JSON.stringify(got)}, want ${e.backend ?? e.status}`);
  }
  assert.deepEqual(failures, []);
});
