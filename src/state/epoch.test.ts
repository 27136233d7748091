// epoch.test.ts: the engine link's epoch in the state database — one more at every start, kept
// across restarts, in the backup as soon as it is bumped, and added to a database from before it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { DatabaseSync } from "node:sqlite";
import { MIGRATIONS, userVersion } from "./schema.ts";
import { openStateStore } from "./store.ts";

const root = mkdtempSync(join(tmpdir(), "portico-epoch-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("the epoch grows by one at each start of the state store, and the backup holds it", () => {
  const dir = join(root, "grow");
  const seen: number[] = [];
  for (let i = 0; i < 3; i++) {
    const store = openStateStore(dir);
    seen.push(store.bumpEpoch());
    store.close();
  }
  assert.deepEqual(seen, [1, 2, 3]);
  const bak = new DatabaseSync(join(dir, "portico.db.bak"), { readOnly: true });
  assert.deepEqual({ ...(bak.prepare("SELECT value FROM epoch").get() as object) }, { value: 3 });
  bak.close();
});

test("a database from before the epoch gets the table on open and starts at 1", () => {
  const dir = join(root, "old");
  const store = openStateStore(dir);
  store.close();
  // Make it a version-2 database, as the previous Portico left it.
  const db = new DatabaseSync(join(dir, "portico.db"));
  db.exec("DROP TABLE epoch");
  db.exec("DROP TABLE acme");
  db.exec("DROP TABLE analytics");
  db.exec("PRAGMA user_version = 2");
  db.close();
  const again = openStateStore(dir);
  assert.equal(again.version, MIGRATIONS.length);
  assert.equal(again.bumpEpoch(), 1);
  again.close();
  const check = new DatabaseSync(join(dir, "portico.db"), { readOnly: true });
  assert.equal(userVersion(check), MIGRATIONS.length);
  check.close();
});

test("--fresh-state sets the allocations aside but not the epoch: engines would refuse a lower one", () => {
  const dir = join(root, "fresh");
  for (let i = 0; i < 3; i++) {
    const store = openStateStore(dir);
    store.bumpEpoch();
    store.close();
  }
  const fresh = openStateStore(dir, { fresh: true });
  assert.ok(fresh.keptAside.length > 0, "the old database was set aside");
  assert.equal(fresh.bumpEpoch(), 4);
  fresh.close();
});
