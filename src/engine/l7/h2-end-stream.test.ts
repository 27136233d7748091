// Regression: an HTTP/2 response without trailers ended with RST_STREAM(NO_ERROR) after its last
// DATA frame; node:http2 clients saw the headers, then an aborted stream and no body.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { once } from "node:events";
import type net from "node:net";
import type { HttpListener } from "../../model/ir.ts";
import { compileHttp } from "./compile.ts";
import { listen, poolOf, RoundRobinUpstreams } from "./testing.ts";

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

test("HTTP/2 client, HTTP/1.1 backend, no trailers: the stream ends with END_STREAM and the body arrives", async () => {
  const be = http.createServer((req, res) => {
    let b = "";
    req.on("data", (d: Buffer) => (b += d.toString()));
    req.on("end", () => res.end(`got ${req.method} ${b}`));
  });
  be.listen(0, "127.0.0.1");
  await once(be, "listening");
  closers.push(() => be.close());
  const pools = { main: poolOf("main", [(be.address() as net.AddressInfo).port]) };
  const listener: HttpListener = {
    name: "l",
    address: "127.0.0.1",
    port: 0,
    requestTimeoutMs: 3000,
    idleTimeoutMs: 5000,
    virtualHosts: [
      {
        hostname: "*",
        routes: [
          {
            name: "r",
            match: { path: { type: "Prefix", value: "/" } },
            action: { type: "Forward", backends: [{ pool: "main", weight: 1 }] },
          },
        ],
      },
    ],
  };
  const snapshot = { version: 1, l4: [], http: [listener], pools, certificates: {} };
  const handler = compileHttp(listener, {
    snapshot,
    upstreams: new RoundRobinUpstreams(pools),
    log: () => {},
  });
  const { server, port } = await listen({ current: handler });
  closers.push(() => server.close());
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.close());
  for (const [method, body] of [
    ["PUT", "with a body"],
    ["GET", undefined],
  ] as const) {
    const got = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ":method": method, ":path": "/x" }, { endStream: body === undefined });
      let b = "";
      req.on("data", (d: Buffer) => (b += d.toString()));
      req.on("end", () => resolve(b));
      // A deadline, not a wait: a cut-short stream never ends, and then nothing else keeps the loop alive.
      const deadline = setTimeout(
        () => reject(new Error(`no end of stream; body so far ${JSON.stringify(b)}`)),
        2000,
      );
      req.on("close", () => {
        clearTimeout(deadline);
        reject(new Error(`stream closed without end; body so far ${JSON.stringify(b)}`));
      });
      req.on("error", reject);
      if (body !== undefined) req.end(body);
    });
    assert.equal(got, `got ${method} ${body ?? ""}`);
  }
});
