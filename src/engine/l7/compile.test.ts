import { test } from "node:test";
import assert from "node:assert/strict";
import { EngineConfigError } from "../contracts.ts";
import type { HttpListener, RouteFilter } from "../../model/ir.ts";
import { compileHttp } from "./compile.ts";
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
