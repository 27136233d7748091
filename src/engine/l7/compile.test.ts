import { test } from "node:test";
import assert from "node:assert/strict";
import { EngineConfigError } from "../contracts.ts";
import type { HttpListener, RouteFilter } from "../../model/ir.ts";
import { compileHttp, isPreface } from "./compile.ts";
import { RoundRobinUpstreams, snapshotOf } from "./testing.ts";

function listenerWith(filters: RouteFilter[], regex = "/ok"): HttpListener {
  return {
    name: "c:80",
    address: "127.0.0.1",
    port: 0,
    virtualHosts: [
      {
        hostname: "*",
        routes: [
          {
            name: "r",
            match: { path: { type: "RegularExpression", value: regex } },
            filters,
            action: { type: "DirectResponse", status: 200, body: "" },
          },
        ],
      },
    ],
    requestTimeoutMs: 1000,
    idleTimeoutMs: 1000,
  };
}

function compile(l: HttpListener) {
  return compileHttp(l, {
    snapshot: snapshotOf(l, {}),
    upstreams: new RoundRobinUpstreams({}),
    log: () => {},
  });
}

test("compileHttp rejects header edits that could split a message, and bad regexps", () => {
  const isCode = (code: string) => (e: unknown) => e instanceof EngineConfigError && e.code === code;
  assert.throws(
    () =>
      compile(
        listenerWith([{ type: "RequestHeaderModifier", set: [{ name: "X-A", value: "a\r\nInjected: 1" }] }]),
      ),
    isCode("InvalidHeader"),
  );
  assert.throws(
    () =>
      compile(listenerWith([{ type: "ResponseHeaderModifier", add: [{ name: "Bad Name", value: "x" }] }])),
    isCode("InvalidHeader"),
  );
  assert.throws(() => compile(listenerWith([], "/(unclosed")), isCode("InvalidRoute"));
  assert.doesNotThrow(() =>
    compile(listenerWith([{ type: "RequestHeaderModifier", set: [{ name: "X-A", value: "fine" }] }])),
  );
});

test("isPreface: the preface or a prefix of it of 4 bytes or more; past the PRI line only that line counts", () => {
  const yes = [
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nINVALID",
    "PRI ",
    "PRI * HTTP/2",
    "PRI * HTTP/2.0",
  ];
  const no = ["PRI", "", "GET / HTTP/1.1\r\n", "PRI * HTTP/1.1\r\n", "PRX * HTTP/2.0", "pri * HTTP/2.0"];
  for (const s of yes) assert.equal(isPreface(Buffer.from(s, "latin1")), true, JSON.stringify(s));
  for (const s of no) assert.equal(isPreface(Buffer.from(s, "latin1")), false, JSON.stringify(s));
});
