import { test } from "node:test";
import assert from "node:assert/strict";
import { parseIsolated, ISOLATE_FROM_BYTES } from "./isolate.ts";
import { parseManifests } from "./parse.ts";

/** dense is about bytes of small Services, the costliest input to parse per byte. */
function dense(bytes: number): string {
  const out: string[] = [];
  for (let i = 0, n = 0; n < bytes; i++) {
    const s = `apiVersion: v1\nkind: Service\nmetadata: { name: s${i}, namespace: default }\nspec:\n  ports: [{ port: 80 }]\n---\n`;
    out.push(s);
    n += s.length;
  }
  return out.join("");
}

test("a large file parses in its own thread to the same result as inline", async () => {
  const text = dense(ISOLATE_FROM_BYTES + 1000);
  const r = await parseIsolated("big.yaml", Buffer.from(text));
  assert.deepEqual(r, parseManifests("big.yaml", text));
  assert.ok(r.objects.length > 5000, `${r.objects.length} objects`);
});

test("a parse that outgrows its heap is an error naming the file, not a crash", async () => {
  const r = await parseIsolated("huge.yaml", Buffer.from(dense(6 << 20)), 64);
  assert.deepEqual(r.objects, []);
  assert.equal(r.errors[0]?.file, "huge.yaml");
  assert.match(r.errors[0]!.message, /needs more than 64 MiB of memory; it was not read\. Split it/);
});
