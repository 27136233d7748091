// gateway-examples.test.ts: the Gateway API's own examples/standard manifests (v1.6.3, vendored in
// src/translate/testdata/gw-upstream-examples/) against a real kube-apiserver with the upstream
// CRDs: the API server's validation (OpenAPI and CEL) accepts every file as written, and once
// applied for Portico — each Gateway's gatewayClassName pointed at Portico's class — a running
// `portico controller` accepts and programs every Gateway with a VIP from the pool and accepts
// every route on each parent the example gives it. Sets are grouped as the offline test groups
// them (gateway-upstream-examples.test.ts); sets that name the same objects take turns in rounds.
import { selfSigned } from "../support/certs.ts";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { BIN_DIR, startKube, type KubeEnv } from "../../scripts/kube/env.ts";
import { apply, getJson, kubeSkip, waitFor } from "./helper.ts";

const skip = kubeSkip();
const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
const dir = join(root, "src/translate/testdata/gw-upstream-examples");
const CONTROLLER = "portico.dev/gateway-controller";
const CLASS = "portico";
const POOL = "127.36.0.1-127.36.0.254";
const VIP = /^127\.36\.0\.\d+$/;

/** REFUSED are sets whose Gateways the spec requires Portico to refuse, with the Accepted reason. */
const REFUSED: Record<string, string> = {
  // A Hostname address is an extended feature Portico does not claim: the spec's reason is
  // UnsupportedAddress on Accepted=False, and such a Gateway is not Programmed and gets no VIP.
  "gateway-addresses.yaml": "UnsupportedAddress",
};

/** ROUTE_KINDS are the route kinds whose status.parents this test reads. */
const ROUTE_KINDS = ["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"];
/** SHARED_KINDS are cluster-wide objects the sets share: created once, never deleted between rounds. */
const SHARED_KINDS = new Set(["Namespace", "GatewayClass"]);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- example manifests of any shape
type Doc = Record<string, any>;
type Cond = { type: string; status: string; reason: string; message: string; observedGeneration?: number };

const docsOf = (text: string): Doc[] =>
  parseAllDocuments(text)
    .map((d) => d.toJSON() as Doc | null)
    .filter((d): d is Doc => d !== null);
const nsOf = (d: Doc): string => d.metadata?.namespace ?? "default";
const keyOf = (d: Doc): string => `${d.kind}/${nsOf(d)}/${d.metadata?.name}`;
const cond = (list: Cond[] | undefined, type: string) => list?.find((c) => c.type === type);

/** ExampleSet is one file of the examples with what it is applied beside, for Portico. */
interface ExampleSet {
  name: string;
  /** files are the upstream files, as written, that the set's documents come from. */
  files: string[];
  docs: Doc[];
}

/**
 * exampleSets lists the sets as the offline test does: a top-level file alone; in a folder each
 * file with the folder's other non-route objects (the files there are variants of one scenario).
 */
function exampleSets(): ExampleSet[] {
  const out: ExampleSet[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) {
      if (e.name.endsWith(".yaml"))
        out.push({ name: e.name, files: [e.name], docs: docsOf(readFileSync(join(dir, e.name), "utf8")) });
      continue;
    }
    const files = readdirSync(join(dir, e.name))
      .filter((f) => f.endsWith(".yaml"))
      .sort()
      .map((f) => ({ f: `${e.name}/${f}`, docs: docsOf(readFileSync(join(dir, e.name, f), "utf8")) }));
    for (const { f, docs } of files) {
      const own = new Set(docs.map(keyOf));
      const beside = files
        .filter((o) => o.f !== f)
        .flatMap((o) => o.docs.filter((d) => !ROUTE_KINDS.includes(d.kind) && !own.has(keyOf(d))));
      out.push({ name: f, files: files.map((o) => o.f), docs: [...docs, ...beside] });
    }
  }
  return out.sort((x, y) => (x.name < y.name ? -1 : 1));
}

/** parentKeys are the Gateways and ListenerSets a document names as parents ("Kind/ns/name"). */
function parentKeys(d: Doc): string[] {
  const refs: Doc[] = d.kind === "ListenerSet" ? [d.spec.parentRef] : (d.spec?.parentRefs ?? []);
  return refs
    .filter((r) => (r.group ?? "gateway.networking.k8s.io") === "gateway.networking.k8s.io")
    .map((r) => `${r.kind ?? "Gateway"}/${r.namespace ?? nsOf(d)}/${r.name}`);
}

/**
 * claims are the names a set uses, each with what it needs there: its own objects' content, or
 * "absent" for a parent it names but leaves out of the example.
 */
function claims(s: ExampleSet): Map<string, string> {
  const out = new Map<string, string>();
  const docs = s.docs.filter((d) => !SHARED_KINDS.has(d.kind));
  for (const d of docs) out.set(keyOf(d), JSON.stringify(d));
  for (const k of docs.flatMap(parentKeys)) if (!out.has(k)) out.set(k, "absent");
  return out;
}

/**
 * rounds packs the sets so that no two in a round need a name differently: variants that redefine
 * one route take turns, while variants beside the same Gateway share it; and a route whose Gateway
 * its example leaves out never meets another example's Gateway of that name.
 */
function rounds(sets: ExampleSet[]): ExampleSet[][] {
  const out: { sets: ExampleSet[]; used: Map<string, string> }[] = [];
  for (const s of sets) {
    const mine = claims(s);
    let r = out.find((x) => [...mine].every(([k, v]) => (x.used.get(k) ?? v) === v));
    if (!r) out.push((r = { sets: [], used: new Map() }));
    r.sets.push(s);
    for (const [k, v] of mine) r.used.set(k, v);
  }
  return out.map((r) => r.sets);
}

/** forPortico is a set as applied: every Gateway of Portico's class, nothing else changed. */
const forPortico = (s: ExampleSet): Doc[] =>
  s.docs.map((d) => (d.kind === "Gateway" ? { ...d, spec: { ...d.spec, gatewayClassName: CLASS } } : d));

/** pool runs jobs with at most n at a time (the machine's two cores are shared). */
async function pool<T>(items: T[], n: number, job: (x: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let x = queue.shift(); x !== undefined; x = queue.shift()) await job(x);
    }),
  );
}

/** kubectlCode runs kubectl as admin and returns its exit code and stderr, never rejecting. */
async function kubectlCode(env: KubeEnv, args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(join(BIN_DIR, "kubectl"), [`--kubeconfig=${env.adminKubeconfig}`, ...args]);
    return { code: 0, stderr: "" };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : -1, stderr: String(err.stderr ?? e).trim() };
  }
}

const SETS = exampleSets();
const ROUNDS = rounds(SETS);
const ALL_DOCS = SETS.flatMap((s) => s.docs);

describe("upstream Gateway API examples on a real API server", { skip }, () => {
  let env: KubeEnv;
  let tmp: string;
  let ctl: ChildProcess | undefined;
  let ctlLog = "";

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "portico-gw-examples-"));
    env = await startKube();
    const pair = selfSigned(["example.com", "*.example.com"]);
    const crt = Buffer.from(pair.certPem).toString("base64");
    const key = Buffer.from(pair.keyPem).toString("base64");
    // The examples' shared objects as they define them (namespaces, and GatewayClasses of acme.io's
    // controller, which Portico must leave alone), then what they leave to the reader: the
    // certificate Secrets their listeners name, Portico's class and a pool for the VIPs.
    const secrets = new Set<string>();
    for (const d of ALL_DOCS.filter((x) => x.kind === "Gateway" || x.kind === "ListenerSet"))
      for (const l of d.spec?.listeners ?? [])
        for (const ref of l.tls?.certificateRefs ?? [])
          secrets.add(`${ref.namespace ?? nsOf(d)}/${ref.name}`);
    // Client validation CAs (spec.tls.frontend) are ConfigMaps the examples leave to the reader too.
    const cas = new Set<string>();
    for (const d of ALL_DOCS.filter((x) => x.kind === "Gateway")) {
      const frontend = d.spec?.tls?.frontend;
      const validations = [
        frontend?.default?.validation,
        ...(frontend?.perPort ?? []).map((p: { tls?: { validation?: unknown } }) => p.tls?.validation),
      ] as ({ caCertificateRefs?: { name: string; namespace?: string }[] } | undefined)[];
      for (const ref of validations.flatMap((v) => v?.caCertificateRefs ?? []))
        cas.add(`${ref.namespace ?? nsOf(d)}/${ref.name}`);
    }
    const base = [
      ...ALL_DOCS.filter((d) => SHARED_KINDS.has(d.kind)).map((d) => JSON.stringify(d)),
      ...[...cas].map((id) => {
        const [ns, name] = id.split("/");
        return JSON.stringify({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name, namespace: ns },
          data: { "ca.crt": pair.certPem },
        });
      }),
      ...[...secrets].map((id) => {
        const [ns, name] = id.split("/");
        return `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: ${ns}}\ntype: kubernetes.io/tls\ndata: {tls.crt: ${crt}, tls.key: ${key}}\n`;
      }),
      `apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: ${CLASS}}\nspec: {controllerName: ${CONTROLLER}}\n`,
      `apiVersion: portico.dev/v1alpha1\nkind: VipPool\nmetadata: {name: examples}\nspec: {addresses: ["${POOL}"]}\n`,
    ];
    await apply(env, base.join("\n---\n"));
  });

  after(async () => {
    if (ctl && ctl.exitCode === null) {
      const exited = new Promise((ok) => ctl!.once("exit", ok));
      ctl.kill("SIGTERM");
      await exited;
    }
    await env?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("the API server's CRD validation accepts every upstream file as written", async () => {
    const files = [...new Set(SETS.flatMap((s) => s.files))].sort();
    assert.ok(files.length >= 70, `only ${files.length} example files found`);
    const failures: string[] = [];
    // A server-side dry run runs the whole admission chain, CEL rules included, storing nothing.
    await pool(files, 3, async (f) => {
      const r = await kubectlCode(env, ["apply", "--dry-run=server", "-f", join(dir, f)]);
      if (r.code !== 0) failures.push(`${f}: kubectl exited ${r.code}: ${r.stderr}`);
    });
    assert.deepEqual(failures.sort(), []);
  });

  for (const [i, sets] of ROUNDS.entries()) {
    test(`round ${i + 1}: ${sets.map((s) => s.name).join(", ")}`, async () => {
      const problems: string[] = [];
      // One kubectl for the round: it applies the files in turn (variants beside one Gateway
      // would race if applied side by side) and names every file it could not apply.
      const files = sets.map((s) => {
        const file = join(tmp, `${s.name.replace(/\W/g, "_")}.yaml`);
        writeFileSync(
          file,
          forPortico(s)
            .map((d) => JSON.stringify(d))
            .join("\n---\n"),
        );
        return file;
      });
      const r = await kubectlCode(env, ["apply", ...files.flatMap((f) => ["-f", f])]);
      if (r.code !== 0) problems.push(`kubectl apply exited ${r.code}: ${r.stderr}`);
      if (!ctl) ctl = spawnController(env, (chunk) => (ctlLog = (ctlLog + chunk).slice(-20_000)));

      const expect = expectations(sets);
      const read = async () => {
        const list = await getJson<{ items: Doc[] }>(
          env,
          "gateways,listenersets,httproutes,grpcroutes,tlsroutes,tcproutes,udproutes",
          "-A",
        );
        return new Map((list?.items ?? []).map((o) => [keyOf(o), o]));
      };
      // Settled once every Gateway and ListenerSet has Portico's verdict on its current generation
      // and every route has an entry for each of its parents that exists.
      const objs = await waitFor(
        "Portico's status on every example object",
        async () => {
          const m = await read();
          const ok = expect.every((e) => {
            const o = m.get(e.key);
            if (!o) return false;
            if (e.kind === "parent")
              return cond(o.status?.conditions, "Programmed")?.observedGeneration === o.metadata.generation;
            return e.parents.every((p) => !p.exists || ourEntry(o, p.ref) !== undefined);
          });
          return ok && m;
        },
        20_000,
        100,
      ).catch(async (e: Error) => {
        problems.push(String(e.message));
        return read();
      });

      for (const e of expect) {
        const o = objs.get(e.key);
        if (!o) {
          problems.push(`${e.set}: ${e.key} not found`);
          continue;
        }
        if (e.kind === "parent") problems.push(...checkParent(e.set, e.key, o, e.refused));
        else
          for (const p of e.parents) {
            const ours = ourEntry(o, p.ref);
            const a = cond(ours?.conditions, "Accepted");
            if (!p.exists) {
              // No such Gateway in the example: not Portico's to judge, so no entry of Portico's.
              if (ours) problems.push(`${e.set}: ${e.key} has Portico's entry for absent ${p.key}`);
            } else if (a?.status !== "True")
              problems.push(
                `${e.set}: ${e.key} on ${p.key}: Accepted=${a?.status} ${a?.reason} ${a?.message}`,
              );
          }
      }
      // The pool counts one VIP per programmed Gateway (ListenerSets share their Gateway's).
      const vips = new Set(
        expect
          .filter((e) => e.kind === "parent" && !e.refused && e.key.startsWith("Gateway/"))
          .map((e) => e.key),
      ).size;
      await waitFor(
        `VipPool counting ${vips} VIPs`,
        async () => (await getJson(env, "vippool", "examples"))?.status?.assignedIPv4 === vips,
        5_000,
      ).catch((e: Error) => problems.push(e.message));
      // Only Portico's class is touched: the examples' own GatewayClasses keep the API's default.
      for (const name of new Set(
        ALL_DOCS.filter((d) => d.kind === "GatewayClass").map((d) => d.metadata.name),
      )) {
        const gc = await getJson(env, "gatewayclass", name);
        if (!gc) continue;
        const a = cond(gc.status?.conditions, "Accepted");
        if (a?.reason !== "Pending")
          problems.push(`GatewayClass ${name} (acme.io's) was touched: ${JSON.stringify(a)}`);
      }
      const ours = await getJson(env, "gatewayclass", CLASS);
      if (cond(ours?.status?.conditions, "Accepted")?.status !== "True")
        problems.push(`GatewayClass ${CLASS} not accepted: ${JSON.stringify(ours?.status)}`);

      await cleanUp(env, tmp, sets);
      assert.deepEqual(problems, [], `controller log tail:\n${ctlLog.slice(-4000)}`);
    });
  }
});

/** Expectation is what one object of a round must show once Portico has seen it. */
type Expectation =
  | { kind: "parent"; set: string; key: string; refused?: string }
  | {
      kind: "route";
      set: string;
      key: string;
      parents: { key: string; ref: Doc; exists: boolean }[];
    };

/** expectations lists the Gateways, ListenerSets and routes of a round and the parents each names. */
function expectations(sets: ExampleSet[]): Expectation[] {
  const parents = new Set(
    sets.flatMap((s) => s.docs.filter((d) => d.kind === "Gateway" || d.kind === "ListenerSet").map(keyOf)),
  );
  return sets.flatMap((s) =>
    s.docs.flatMap((d): Expectation[] => {
      if (d.kind === "Gateway" || d.kind === "ListenerSet") {
        const refused = REFUSED[s.name];
        return [{ kind: "parent", set: s.name, key: keyOf(d), ...(refused ? { refused } : {}) }];
      }
      if (!ROUTE_KINDS.includes(d.kind)) return [];
      const refs: Doc[] = d.spec?.parentRefs ?? [];
      return [
        {
          kind: "route",
          set: s.name,
          key: keyOf(d),
          parents: refs.map((ref) => {
            const [key] = parentKeys({ ...d, spec: { parentRefs: [ref] } });
            return { key: key ?? JSON.stringify(ref), ref, exists: key !== undefined && parents.has(key) };
          }),
        },
      ];
    }),
  );
}

/** ourEntry is Portico's status.parents entry of a route for one parentRef. */
function ourEntry(route: Doc, ref: Doc): { controllerName: string; conditions: Cond[] } | undefined {
  const same = (a: Doc) =>
    a.name === ref.name &&
    (a.namespace ?? route.metadata.namespace) === (ref.namespace ?? route.metadata.namespace) &&
    a.sectionName === ref.sectionName &&
    a.port === ref.port;
  return (route.status?.parents ?? []).find((p: Doc) => p.controllerName === CONTROLLER && same(p.parentRef));
}

/** checkParent lists what is wrong with a Gateway's or ListenerSet's status. */
function checkParent(set: string, key: string, o: Doc, refused?: string): string[] {
  const out: string[] = [];
  const conds: Cond[] = o.status?.conditions ?? [];
  const accepted = cond(conds, "Accepted");
  const programmed = cond(conds, "Programmed");
  const addresses: { type?: string; value: string }[] = o.status?.addresses ?? [];
  if (refused) {
    if (accepted?.status !== "False" || accepted.reason !== refused)
      out.push(`${set}: ${key} Accepted=${accepted?.status} ${accepted?.reason}, want False ${refused}`);
    if (programmed?.status !== "False")
      out.push(`${set}: ${key} Programmed=${programmed?.status} ${programmed?.reason}, want False`);
    if (addresses.length > 0) out.push(`${set}: refused ${key} has addresses ${JSON.stringify(addresses)}`);
    return out;
  }
  for (const c of [accepted, programmed])
    if (c?.status !== "True") out.push(`${set}: ${key} ${c?.type}=${c?.status} ${c?.reason} ${c?.message}`);
  if (o.kind === "Gateway") {
    if (
      addresses.length !== 1 ||
      (addresses[0]!.type ?? "IPAddress") !== "IPAddress" ||
      !VIP.test(addresses[0]!.value)
    )
      out.push(`${set}: ${key} addresses ${JSON.stringify(addresses)}, want one VIP from ${POOL}`);
  }
  for (const l of o.status?.listeners ?? [])
    for (const t of ["Accepted", "Programmed", "ResolvedRefs"]) {
      const c = cond(l.conditions, t);
      if (c?.status !== "True")
        out.push(`${set}: ${key} listener ${l.name} ${t}=${c?.status} ${c?.reason} ${c?.message}`);
    }
  return out;
}

/**
 * cleanUp deletes a round's objects (not the shared namespaces and classes; none carries a
 * finalizer, so they are gone when kubectl returns) and waits until Portico has released every
 * VIP, so the next round's same-named objects start from nothing.
 */
async function cleanUp(env: KubeEnv, tmp: string, sets: ExampleSet[]): Promise<void> {
  const docs = new Map(
    sets.flatMap((s) => s.docs.filter((d) => !SHARED_KINDS.has(d.kind)).map((d) => [keyOf(d), d] as const)),
  );
  const file = join(tmp, "delete.yaml");
  writeFileSync(file, [...docs.values()].map((d) => JSON.stringify(d)).join("\n---\n"));
  await env.kubectl(["delete", "--ignore-not-found", "--wait=false", "-f", file]);
  await waitFor(
    "every VIP released",
    async () => (await getJson(env, "vippool", "examples"))?.status?.assignedIPv4 === 0,
  );
}

/** spawnController runs `portico controller` as Portico's ServiceAccount, its log kept for failures. */
function spawnController(env: KubeEnv, log: (chunk: string) => void): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      join(root, "src/cli/main.ts"),
      "controller",
      `--kubeconfig=${env.porticoKubeconfig}`,
      "--identity=gw-examples",
      "--no-leader-elect",
      "--no-classless",
      // A free port: 9901 may belong to a `portico run` on this host.
      "--admin=127.0.0.1:0",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  for (const s of [child.stdout!, child.stderr!])
    s.on("data", (b: Buffer) => {
      log(b.toString());
      if (process.env.PORTICO_TEST_LOG === "1") process.stderr.write(b);
    });
  return child;
}
