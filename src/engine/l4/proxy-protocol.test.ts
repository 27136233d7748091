import assert from "node:assert/strict";
import { test } from "node:test";
import { proxyV1, proxyV2 } from "./proxy-protocol.ts";

test("v1: TCP4, TCP6, mapped IPv4, UNKNOWN", () => {
  const p = { sourceAddress: "10.0.0.1", sourcePort: 51000, destAddress: "10.0.0.2", destPort: 80 };
  assert.equal(proxyV1(p).toString(), "PROXY TCP4 10.0.0.1 10.0.0.2 51000 80\r\n");
  assert.equal(
    proxyV1({ ...p, sourceAddress: "::ffff:10.0.0.1", destAddress: "::ffff:10.0.0.2" }).toString(),
    "PROXY TCP4 10.0.0.1 10.0.0.2 51000 80\r\n",
  );
  assert.equal(
    proxyV1({ ...p, sourceAddress: "::1", destAddress: "fe80::2" }).toString(),
    "PROXY TCP6 ::1 fe80::2 51000 80\r\n",
  );
  assert.equal(proxyV1({ ...p, destAddress: "::1" }).toString(), "PROXY UNKNOWN\r\n");
});

test("v2: IPv4 bytes per the spec", () => {
  const h = proxyV2({
    sourceAddress: "192.168.1.2",
    sourcePort: 0x1234,
    destAddress: "10.0.0.1",
    destPort: 443,
  });
  assert.equal(
    h.toString("hex"),
    "0d0a0d0a000d0a515549540a" + "21" + "11" + "000c" + "c0a80102" + "0a000001" + "1234" + "01bb",
  );
});

test("v2: IPv6 bytes, including :: compression and an IPv4 tail", () => {
  const h = proxyV2({
    sourceAddress: "2001:db8::1",
    sourcePort: 1,
    destAddress: "64:ff9b::1.2.3.4",
    destPort: 2,
  });
  assert.equal(h.length, 52);
  assert.equal(h[13], 0x21);
  assert.equal(h.readUInt16BE(14), 36);
  assert.equal(h.subarray(16, 32).toString("hex"), "20010db8000000000000000000000001");
  assert.equal(h.subarray(32, 48).toString("hex"), "0064ff9b000000000000000001020304");
  assert.equal(h.readUInt16BE(48), 1);
  assert.equal(h.readUInt16BE(50), 2);
});

test("v2: unknown family is UNSPEC with no addresses", () => {
  const h = proxyV2({});
  assert.equal(h.length, 16);
  assert.equal(h[12], 0x21);
  assert.equal(h[13], 0);
  assert.equal(h.readUInt16BE(14), 0);
});
