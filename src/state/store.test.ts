// store.test.ts: the SQLite state store on a real file: round trip across close/reopen, only changed
// rows written, WAL mode, schema versioning and refusal of a newer schema.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { DatabaseSync } from "node:sqlite";
import { allocate } from "../ipam/allocate.ts";
import { pool, req } from "../ipam/testing.ts";
import type { AllocationState } from "../ipam/types.ts";
import { MIGRATIONS, userVersion } from "./schema.ts";
import { openStateStore } from "./store.ts";

const root = mkdtempSync(join(tmpdir(), "portico-state-"));
after(() => rmSync(root, { recursive: true, force: true }));

const state: AllocationState = {
  "Service/default/web": {
    addresses: ["192.0.2.1"],
    pools: ["blue"],
    ports: [{ port: 80, protocol: "TCP" }],
  },
  "Service/dns/tcp": {
    addresses: ["192.0.2.2", "2001:db8::2"],
    pools: ["blue", "six"],
    sharingKey: "dns",
    ports: [{ port: 53, protocol: "TCP" }],
  },
};

test("save, close, reopen, read back", () => {
  const dir = join(root, "roundtrip");
  const store = openStateStore(dir);
  assert.equal(store.file, join(dir, "portico.db"));
  assert.deepEqual(store.loadAllocations(), {});
  assert.deepEqual(store.saveAllocations(state), { written: 2, deleted: 0 });
  store.close();
  assert.ok(existsSync(store.file));
  const again = openStateStore(dir);
  assert.deepEqual(again.loadAllocations(), state);
  assert.equal(again.version, MIGRATIONS.length);
  again.close();
});

test("writes only changed rows, deletes released keys", () => {
  const store = openStateStore(join(root, "delta"));
  store.saveAllocations(state);
  assert.deepEqual(store.saveAllocations(state), { written: 0, deleted: 0 });
  const next: AllocationState = {
    "Service/default/web": {
      addresses: ["192.0.2.9"],
      pools: ["blue"],
      ports: [{ port: 80, protocol: "TCP" }],
    },
    "Service/default/new": { addresses: ["192.0.2.3"], pools: ["blue"], ports: [] },
  };
  assert.deepEqual(store.saveAllocations(next), { written: 2, deleted: 1 });
  assert.deepEqual(store.loadAllocations(), next);
  store.close();
});

test("WAL mode and user_version are set on the file", () => {
  const dir = join(root, "pragmas");
  openStateStore(dir).close();
  const db = new DatabaseSync(join(dir, "portico.db"), { readOnly: true });
  assert.deepEqual({ ...db.prepare("PRAGMA journal_mode").get() }, { journal_mode: "wal" });
  assert.equal(userVersion(db), MIGRATIONS.length);
  db.close();
});

test("a database from a newer Portico is refused, not downgraded", () => {
  const dir = join(root, "newer");
  openStateStore(dir).close();
  const db = new DatabaseSync(join(dir, "portico.db"));
  db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
  db.close();
  assert.throws(() => openStateStore(dir), { code: "PORTICO_STATE_SCHEMA" });
});

test("restart: allocations saved by one process are kept by the next, even with a better pool", () => {
  const dir = join(root, "restart");
  const requests = [
    req("a"),
    req("b", { sharingKey: "k" }),
    req("c", { sharingKey: "k", ports: [{ port: 53, protocol: "UDP" }] }),
  ];
  const first = allocate({ requests, pools: [pool("blue", ["192.0.2.0/30"])], namespaces: [], previous: {} });
  const store = openStateStore(dir);
  store.saveAllocations(first.state);
  store.close();

  const reopened = openStateStore(dir);
  const previous = reopened.loadAllocations();
  assert.deepEqual(previous, first.state);
  const pools = [pool("blue", ["192.0.2.0/30"]), pool("better", ["198.51.100.0/30"], { priority: -1 })];
  const second = allocate({ requests: [...requests, req("d")], pools, namespaces: [], previous });
  for (const r of requests) assert.deepEqual(second.state[r.key], first.state[r.key], r.key);
  assert.deepEqual(second.state["Service/default/d"]?.addresses, ["198.51.100.0"]);
  assert.deepEqual(reopened.saveAllocations(second.state), { written: 1, deleted: 0 });
  reopened.close();
});

test("first-seen times: save, close, reopen, read back; a save replaces the table", () => {
  const dir = join(root, "first-seen");
  const store = openStateStore(dir);
  assert.deepEqual(store.loadFirstSeen(), {});
  store.saveFirstSeen({
    "Ingress/default/a": "2026-12-06T15:00:00Z",
    "Ingress/default/b": "2026-12-06T15:00:01Z",
  });
  store.close();
  const again = openStateStore(dir);
  assert.deepEqual(again.loadFirstSeen(), {
    "Ingress/default/a": "2026-12-06T15:00:00Z",
    "Ingress/default/b": "2026-12-06T15:00:01Z",
  });
  again.saveFirstSeen({ "Ingress/default/b": "2026-12-06T15:00:01Z" });
  assert.deepEqual(again.loadFirstSeen(), { "Ingress/default/b": "2026-12-06T15:00:01Z" });
  again.close();
});

test("the acme table keeps ACME rows across opens; undefined deletes one", () => {
  const dir = mkdtempSync(join(tmpdir(), "portico-acme-state-"));
  try {
    const s = openStateStore(dir);
    s.saveAcme("account/pebble", '{"keyPem":"k"}');
    s.saveAcme("certificate/default/a", "{}");
    s.saveAcme("certificate/default/a", '{"v":2}');
    s.close();
    const again = openStateStore(dir);
    assert.deepEqual(again.loadAcme(), {
      "account/pebble": '{"keyPem":"k"}',
      "certificate/default/a": '{"v":2}',
    });
    again.saveAcme("account/pebble", undefined);
    assert.deepEqual(Object.keys(again.loadAcme()), ["certificate/default/a"]);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the backup carries the state, not the analytics history or the request log", () => {
  const dir = join(root, "backup-tables");
  const store = openStateStore(dir);
  // Derived rows as the analytics store and the request log write them (another connection).
  const side = new DatabaseSync(join(dir, "portico.db"));
  side.prepare("INSERT INTO analytics (family, t, data) VALUES ('vs/1m', 1, x'00')").run();
  side
    .prepare(
      "INSERT INTO analytics_logs (at, vs, reasons, status, route, client, record) VALUES (1, 'v', ' 5xx ', 503, 'r', 'c', '{}')",
    )
    .run();
  side.close();
  store.saveAllocations(state); // a change: the backup is rewritten
  store.close();
  const bak = new DatabaseSync(join(dir, "portico.db.bak"));
  try {
    const count = (t: string) => (bak.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    assert.equal(count("allocations"), 2);
    assert.equal(count("analytics"), 0);
    assert.equal(count("analytics_logs"), 0);
    assert.equal(userVersion(bak), MIGRATIONS.length);
  } finally {
    bak.close();
  }
});
