// head-memo.test.ts: lowerName's memo is process-wide and fed with names clients and backends
// choose (forward.ts lowers every request header name, h2-response-head.ts every response one). It
// keeps what it took for the life of the process, so what it may take must be small: names of
// request-header length (up to maxHeaderBytes, 16 KiB) would pin 1024 of them, ~32 MiB with their
// lower-case copies, after 1024 requests of one client.
import { test } from "node:test";
import assert from "node:assert/strict";
import { lowerName, lowerNameMemoChars } from "./head.ts";

test("lowerName: long attacker-chosen names are lowered but not kept in the memo", () => {
  for (let i = 0; i < 2048; i++) {
    const name = `X-Junk-${i}-${"A".repeat(16_000)}`;
    assert.equal(lowerName(name), name.toLowerCase());
  }
  // Common names still lower and are kept (the memo's point).
  assert.equal(lowerName("Content-Type"), "content-type");
  assert.ok(lowerNameMemoChars() <= 1024 * 2 * 64, `memo holds ${lowerNameMemoChars()} characters`);
});
