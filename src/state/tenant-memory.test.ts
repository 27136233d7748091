// tenant-memory.test.ts: the tenant admissions row of the state store on a real file — absent on a
// new database, read back after close/reopen, replaced, and deleted when no Tenant is left.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openStateStore } from "./store.ts";

const root = mkdtempSync(join(tmpdir(), "portico-state-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("tenant admissions survive close and reopen; undefined deletes them", () => {
  const dir = join(root, "tenants");
  const first = openStateStore(dir);
  assert.equal(first.loadTenantMemory(), undefined);
  const memory = JSON.stringify({
    admitted: { "Ingress/a/shop": "[...]" },
    holders: { "route shop.example.com": "Ingress/a/shop" },
    namespaces: { a: "a" },
  });
  first.saveTenantMemory(memory);
  first.close();
  const again = openStateStore(dir);
  assert.equal(again.loadTenantMemory(), memory);
  again.saveTenantMemory('{"admitted":{},"holders":{},"namespaces":{}}');
  assert.equal(again.loadTenantMemory(), '{"admitted":{},"holders":{},"namespaces":{}}');
  again.saveTenantMemory(undefined);
  assert.equal(again.loadTenantMemory(), undefined);
  again.close();
});
