// One suite, two backends: the memory rings and the SQLite table must keep and answer alike.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStateStore } from "../state/store.ts";
import { overflow, waterLevel, type LogBackend, type LogBounds } from "./log-bounds.ts";
import { MemoryLogs } from "./log-memory.ts";
import { normalizeRecord } from "./log-record.ts";
import { openLogDatabase, SqliteLogs } from "./log-sqlite.ts";
import { LIMIT_MAX } from "./log-query.ts";
import { logRecord } from "./log-testing.ts";
import type { LogRecord } from "./types.ts";

const T0 = Date.UTC(2026, 11, 7, 6, 0, 0);

/** backends yields a fresh backend of each kind; cleanup closes and deletes. */
function backends(): { name: string; make: (bounds?: LogBounds) => { b: LogBackend; done: () => void } }[] {
  return [
    { name: "memory", make: (bounds = BIG) => ({ b: new MemoryLogs(bounds), done: () => undefined }) },
    {
      name: "sqlite",
      make: (bounds = BIG) => {
        const dir = mkdtempSync(join(tmpdir(), "portico-logs-"));
        const store = openStateStore(dir);
        const db = openLogDatabase(store.file);
        return {
          b: new SqliteLogs(db, bounds),
          done: () => {
            db.close();
            store.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    },
  ];
}

const BIG: LogBounds = { perVs: 10_000, total: 100_000 };

/** sample is a varied set: two services, codes, reasons, clients, agents, one millisecond shared. */
function sample(): LogRecord[] {
  const out: LogRecord[] = [];
  for (let i = 0; i < 60; i++) {
    const vs =
      i % 3 === 0 ? "IngressClass/portico:80 api.example.com" : "IngressClass/portico:80 shop.example.com";
    out.push(
      normalizeRecord(
        logRecord(T0 + i * 1000, vs, {
          status: [503, 200, 404, 0, 502][i % 5]!,
          reasons: i % 5 === 1 ? ["full"] : i % 5 === 3 ? ["reset"] : i % 4 === 0 ? ["5xx", "slow"] : ["5xx"],
          client: `192.0.2.${i % 7}`,
          route: i % 2 ? "Ingress/default/a#0" : "Ingress/default/b#0",
          path: `/item/${i}`,
          userAgent: i % 6 === 0 ? "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/133.0" : "curl/8.11.1",
          error: i === 33 ? "backend Reset by PEER" : "",
        }),
        "local",
      ),
    );
  }
  // Five records in one millisecond, to test that a page never splits it.
  for (let j = 0; j < 5; j++)
    out.push(
      normalizeRecord(
        logRecord(T0 + 30_500, "IngressClass/portico:80 shop.example.com", { path: `/same/${j}` }),
        "e2",
      ),
    );
  return out;
}

const ats = (rs: LogRecord[]) => rs.map((r) => `${r.at}${r.path}`);

for (const { name, make } of backends()) {
  test(`${name}: filters agree with the obvious answer, newest first`, () => {
    const { b, done } = make();
    try {
      const all = sample();
      b.insert(all);
      const newest = [...all]
        .map((r, i) => ({ r, i }))
        .sort((x, y) => y.r.at - x.r.at || y.i - x.i)
        .map((x) => x.r);
      const check = (label: string, q: Parameters<LogBackend["query"]>[0], keep: (r: LogRecord) => boolean) =>
        assert.deepEqual(ats(b.query(q)), ats(newest.filter(keep).slice(0, q.limit)), label);
      check("everything", { limit: 1000 }, () => true);
      check("vs", { limit: 1000, vs: "IngressClass/portico:80 api.example.com" }, (r) =>
        r.vs.includes("api."),
      );
      // A tenant's view: any of its services, none of another's (also a key nobody serves).
      check("vsIn", { limit: 1000, vsIn: ["IngressClass/portico:80 api.example.com", "gone"] }, (r) =>
        r.vs.includes("api."),
      );
      check("vsIn empty", { limit: 1000, vsIn: [] }, () => false);
      check(
        "vsIn and status",
        { limit: 1000, vsIn: ["IngressClass/portico:80 shop.example.com"], status: "5xx" },
        (r) => r.vs.includes("shop.") && r.status >= 500,
      );
      check("status code", { limit: 1000, status: 404 }, (r) => r.status === 404);
      check("status class 5xx", { limit: 1000, status: "5xx" }, (r) => r.status >= 500 && r.status < 600);
      check("status class 0xx", { limit: 1000, status: "0xx" }, (r) => r.status === 0);
      check(
        "reasons any-of",
        { limit: 1000, reasons: ["slow", "reset"] },
        (r) => r.reasons.includes("slow") || r.reasons.includes("reset"),
      );
      check("route", { limit: 1000, route: "Ingress/default/a#0" }, (r) => r.route === "Ingress/default/a#0");
      check("client", { limit: 1000, client: "192.0.2.3" }, (r) => r.client === "192.0.2.3");
      check("q in path", { limit: 1000, q: "/ITEM/4" }, (r) => r.path.startsWith("/item/4"));
      check("q in user agent", { limit: 1000, q: "firefox" }, (r) => r.userAgent.includes("Firefox"));
      check("q in error", { limit: 1000, q: "reset by peer" }, (r) => r.error !== "");
      check(
        "since/until",
        { limit: 1000, since: T0 + 10_000, until: T0 + 20_000 },
        (r) => r.at >= T0 + 10_000 && r.at < T0 + 20_000,
      );
      check(
        "combined",
        { limit: 1000, status: "5xx", client: "192.0.2.0", reasons: ["5xx"] },
        (r) => r.status >= 500 && r.client === "192.0.2.0" && r.reasons.includes("5xx"),
      );
      check("limit", { limit: 7 }, () => true);
      assert.equal(b.query({ limit: 1 })[0]!.browser, "curl", "stored with the parsed browser");
    } finally {
      done();
    }
  });

  test(`${name}: paging with before walks everything once, never splitting a millisecond`, () => {
    const { b, done } = make();
    try {
      const all = sample();
      b.insert(all);
      const seen: string[] = [];
      let before: number | undefined;
      for (let page = 0; page < 100; page++) {
        const got = b.query({ limit: 4, ...(before !== undefined ? { before } : {}) });
        if (got.length === 0) break;
        seen.push(...ats(got));
        before = got.at(-1)!.at;
      }
      assert.equal(seen.length, all.length, "every record once");
      assert.equal(new Set(seen).size, all.length);
      // The page that reaches the shared millisecond carries all five of its records.
      const page = b.query({ limit: 2, before: T0 + 31_000 });
      assert.deepEqual(
        page.map((r) => [r.at, r.path]),
        [4, 3, 2, 1, 0].map((j) => [T0 + 30_500, `/same/${j}`]),
        "limit 2 stretched to the five records of one millisecond, newest first",
      );
    } finally {
      done();
    }
  });

  test(`${name}: a page stretched over one busy millisecond stops LIMIT_MAX records past its limit`, () => {
    const { b, done } = make();
    try {
      const vs = "IngressClass/portico:80 shop.example.com";
      b.insert(Array.from({ length: LIMIT_MAX + 50 }, () => normalizeRecord(logRecord(T0, vs), "local")));
      assert.equal(b.query({ limit: 10 }).length, 10 + LIMIT_MAX);
    } finally {
      done();
    }
  });

  test(`${name}: a full-log switch on a busy service never pushes its significant records out`, () => {
    const { b, done } = make({ perVs: 50, total: 100 });
    try {
      const a = "IngressClass/portico:80 a.example.com";
      const other = "IngressClass/portico:80 b.example.com";
      const rec = (at: number, vs: string, reasons: LogRecord["reasons"]) =>
        normalizeRecord(logRecord(at, vs, { reasons }), "local");
      b.insert(Array.from({ length: 20 }, (_, i) => rec(T0 + i, a, ["5xx"])));
      b.insert(Array.from({ length: 60 }, (_, i) => rec(T0 + i, other, ["timeout"])));
      // Then ten minutes of full logs on a: far more than any quota, all newer.
      for (let k = 0; k < 10; k++)
        b.insert(Array.from({ length: 100 }, (_, i) => rec(T0 + 1_000 + k * 100 + i, a, ["full"])));
      const kept = b.query({ limit: 1_000 });
      const count = (vs: string, reason: string) =>
        kept.filter((r) => r.vs === vs && r.reasons.join() === reason).length;
      assert.equal(count(a, "5xx"), 20, "every 5xx of a kept");
      assert.equal(count(other, "timeout"), 50, "b within its own quota");
      // Full-only records get what the significant ones leave of the total: 100 - 70, newest.
      assert.equal(count(a, "full"), 30);
      assert.equal(Math.min(...kept.filter((r) => r.reasons[0] === "full").map((r) => r.at)), T0 + 1_970);
      assert.deepEqual(b.size(), { records: 100, services: 2 });
    } finally {
      done();
    }
  });

  test(`${name}: per-service quota and the shared total, fairly`, () => {
    const { b, done } = make({ perVs: 300, total: 400 });
    try {
      const noisy = Array.from({ length: 500 }, (_, i) => normalizeRecord(logRecord(T0 + i, "noisy"), "e"));
      const quiet = Array.from({ length: 20 }, (_, i) => normalizeRecord(logRecord(T0 + i, "quiet"), "e"));
      b.insert(quiet);
      b.insert(noisy);
      // perVs 300, total 400: the noisy one is cut to its quota; the total then fits.
      assert.deepEqual(b.size(), { records: 320, services: 2 });
      assert.equal(b.query({ limit: 1000, vs: "quiet" }).length, 20, "the quiet service keeps every record");
      const kept = b.query({ limit: 1000, vs: "noisy" });
      assert.equal(kept.length, 300);
      assert.equal(kept.at(-1)!.at, T0 + 200, "the oldest went first");
      // A third busy service: the total (400) now binds, the two big ones share what is left.
      b.insert(Array.from({ length: 300 }, (_, i) => normalizeRecord(logRecord(T0 + 1000 + i, "busy"), "e")));
      assert.equal(b.size().records, 400);
      assert.equal(b.query({ limit: 1000, vs: "quiet" }).length, 20, "still every quiet record");
      assert.equal(b.query({ limit: 1000, vs: "noisy" }).length, 190);
      assert.equal(b.query({ limit: 1000, vs: "busy" }).length, 190);
    } finally {
      done();
    }
  });

  test(`${name}: expire drops what is older than the horizon`, () => {
    const { b, done } = make();
    try {
      b.insert(sample());
      assert.equal(b.expire(T0 + 30_000), 30);
      assert.ok(b.query({ limit: 1000 }).every((r) => r.at >= T0 + 30_000));
      assert.equal(b.size().records, 35);
      assert.equal(b.expire(T0 + 1e9), 35);
      assert.deepEqual(b.size(), { records: 0, services: 0 });
    } finally {
      done();
    }
  });
}

test("waterLevel and overflow: the largest give up first, small ones untouched", () => {
  assert.equal(waterLevel([10, 20], 100), Infinity);
  assert.equal(waterLevel([500, 20], 400), 380);
  assert.equal(waterLevel([300, 300, 20], 400), 190);
  assert.equal(waterLevel([5, 5, 5], 3), 1);
  assert.deepEqual(
    [
      ...overflow(
        new Map([
          ["a", 500],
          ["b", 20],
        ]),
        { perVs: 300, total: 400 },
      ),
    ],
    [["a", 200]],
  );
});
