// reload-writer.test.ts: a slow writer rewrites a real manifest (the quickstart, as one file) in
// place, one document at a time, pausing past the stability hold-off after each — so every
// document boundary is read, and each such prefix parses. No object may be deleted and no VIP
// released or moved while it writes; the finished file is then served. VIPs on 127.0.62.0/27.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  tempDir,
  writeManifest,
  startPortico,
  waitFor,
  removeDir,
  type Portico,
  type StatusEntry,
} from "./harness.ts";

const root = join(import.meta.dirname, "..", "..");
let dir: string, state: string, p: Portico | undefined;
let writing = false;

after(async () => {
  writing = false; // a failed test must not leave the status poller running
  await p?.stop();
  for (const d of [dir, state]) if (d) removeDir(d);
});

/** vips maps every object Portico reports on to its addresses ("" when it has none). */
const vips = (st: StatusEntry[]) =>
  new Map(
    st.map((s) => [
      `${s.kind}/${s.namespace ?? ""}/${s.name}`,
      (s.status.loadBalancer?.ingress ?? []).map((i) => i.ip).join(","),
    ]),
  );

test("a manifest written slowly, document by document, deletes nothing and moves no VIP", async () => {
  const parts = await Promise.all(
    ["00-pool", "10-shop", "20-blog", "30-echo", "40-certs"].map((f) =>
      readFile(join(root, "examples/quickstart", `${f}.yaml`), "utf8"),
    ),
  );
  const whole = parts.join("\n---\n").replace("127.0.10.1-127.0.10.30", "127.0.62.1-127.0.62.30");
  const docs = whole.split(/^---\n/m);
  const late = `apiVersion: v1
kind: Service
metadata: { name: late, namespace: default }
spec:
  type: LoadBalancer
  ports: [{ name: tcp, port: 7100, targetPort: 18099, protocol: TCP }]
`;
  dir = tempDir("portico-reload-writer-");
  state = tempDir("portico-reload-writer-state-");
  writeManifest(dir, "quickstart.yaml", whole);
  p = await startPortico([dir], ["--state-dir", state, "--http-port", "18171", "--https-port", "18172"]);
  const before = await waitFor("every VIP allocated", async () => {
    const m = vips(await p!.status());
    const lb = ["Service/default/echo", "Ingress/default/shop", "Ingress/default/blog"];
    return lb.every((k) => m.get(k)) ? m : undefined;
  });

  // Watch the status while the writer works: every object and VIP of `before` must stay.
  const problems: string[] = [];
  writing = true;
  const watcher = (async () => {
    while (writing) {
      const now = vips(await p!.status());
      for (const [k, ip] of before)
        if (now.get(k) !== ip) problems.push(`${k}: ${ip} became ${now.get(k) ?? "deleted"}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const fh = await open(join(dir, "quickstart.yaml"), "w"); // O_TRUNC: the file is empty now
  for (const [i, doc] of [...docs, late].entries()) {
    await fh.write((i > 0 ? "---\n" : "") + doc);
    // Past the 100 ms hold-off, so this prefix is read; well inside the 2 s removal confirmation.
    await new Promise((r) => setTimeout(r, 400));
  }
  await fh.close();
  const prefixesRead = p.logs.filter((l) => l.includes("waiting for a second read")).length;
  const latest = await waitFor("the finished file served (the late Service has a VIP)", async () => {
    const m = vips(await p!.status());
    return m.get("Service/default/late") ? m : undefined;
  });
  writing = false;
  await watcher;
  console.log(`reload-writer: ${docs.length + 1} documents written; ${prefixesRead} partial reads held back`);
  assert.deepEqual(problems.slice(0, 5), [], `${problems.length} problems while writing`);
  assert.ok(prefixesRead > 0, "the writer's pauses let partial files be read (and held back)");
  for (const [k, ip] of before) assert.equal(latest.get(k), ip, `${k} kept its VIP`);
});
