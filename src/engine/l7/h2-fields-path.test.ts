// h2-fields-path.test.ts: the own codec's list paths (h2perf) against what HTTP/1.1 and HTTP/2
// require, end to end over real sockets — node:http2 client, the compiled listener, a raw HTTP/1.1
// backend. Request (FrontStream.fields, taken when no name repeats; the object when one does):
// cookie crumbs joined by "; " (RFC 9113 §8.2.3), :authority as Host, te: trailers not forwarded,
// forwarding headers added. Response (responseFields): names lower-cased, hop-by-hop and
// Connection-listed fields dropped (RFC 9113 §8.2.2), Set-Cookie kept as separate fields, other
// repeats joined, ResponseHeaderModifier set/add/remove applied.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { once } from "node:events";
import type { Route } from "../../model/ir.ts";
import { headerFilterRoute, poolOf, proxyRoute } from "./testing.ts";

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

// backend answers every request with a fixed raw head and records each request head it read.
async function backend(heads: string[]): Promise<number> {
  const server = net.createServer((sock) => {
    let buf = "";
    sock.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      let end: number;
      while ((end = buf.indexOf("\r\n\r\n")) !== -1) {
        heads.push(buf.slice(0, end));
        buf = buf.slice(end + 4);
        sock.write(
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nX-Upper: One\r\n" +
            "SET-COOKIE: b=2\r\nx-upper: Two\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\n" +
            "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\n" +
            "X-Remove: gone\r\nX-Set: backend\r\nContent-Length: 2\r\n\r\nok",
        );
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

async function proxy(heads: string[]): Promise<number> {
  const route = headerFilterRoute([
    { name: "Set-Cookie", value: "c=3" },
    { name: "X-Upper", value: "Three" },
  ]);
  const { server, port } = await proxyRoute(route, { p: poolOf("p", [await backend(heads)]) });
  closers.push(() => server.close());
  return port;
}

function fieldsOf(head: string): [string, string][] {
  return head
    .split("\r\n")
    .slice(1)
    .map((l) => {
      const c = l.indexOf(":");
      return [l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()] as [string, string];
    });
}

async function get(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
): Promise<{ head: http2.IncomingHttpHeaders; raw: string[] }> {
  const s = session.request({ ":path": "/p?q=1", ":authority": "app.test", ...headers });
  s.resume();
  const ended = once(s, "end");
  const [head, , raw] = (await once(s, "response")) as [http2.IncomingHttpHeaders, number, string[]];
  await ended;
  return { head, raw };
}

test("HTTP/2 front, HTTP/1.1 backend: request and response fields on the own codec's list paths", async () => {
  const heads: string[] = [];
  const port = await proxy(heads);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.close());
  // Cookie crumbs: a repeated name (the object path); then no repeat (the list path), with te.
  await get(session, { cookie: ["a=1", "b=2"], "x-one": "1" });
  const { head, raw } = await get(session, { cookie: "c=3", te: "trailers", "x-two": "2" });
  assert.equal(heads.length, 2);
  for (const [i, h] of heads.entries()) {
    const f = fieldsOf(h);
    const get1 = (n: string) => f.filter(([k]) => k === n).map(([, v]) => v);
    assert.match(h.split("\r\n")[0]!, /^GET \/p\?q=1 HTTP\/1\.1$/, `request ${i} line`);
    assert.deepEqual(get1("host"), ["app.test"], `request ${i}: :authority is the one Host`);
    assert.deepEqual(get1("cookie"), [i === 0 ? "a=1; b=2" : "c=3"], `request ${i}: one Cookie`);
    assert.deepEqual(get1("te"), [], `request ${i}: te not forwarded`);
    assert.equal(get1("x-forwarded-for").length, 1, `request ${i}: X-Forwarded-For added`);
    assert.equal(get1("x-forwarded-proto")[0], "http", `request ${i}: X-Forwarded-Proto`);
    assert.ok(
      f.every(([k]) => !k.startsWith(":")),
      `request ${i}: no pseudo-header`,
    );
  }
  // The response: every name lower case on the wire, hop-by-hop gone, set-cookie apart.
  const names: string[] = [];
  for (let i = 0; i < raw.length; i += 2) names.push(raw[i]!);
  assert.ok(
    names.every((n) => n === n.toLowerCase()),
    `names: ${names.join(" ")}`,
  );
  for (const n of [
    "connection",
    "x-hop",
    "keep-alive",
    "proxy-connection",
    "upgrade",
    "transfer-encoding",
    "x-remove",
  ])
    assert.ok(!names.includes(n), `${n} is not sent`);
  assert.deepEqual(head["set-cookie"], ["a=1", "b=2", "c=3"]);
  assert.equal(names.filter((n) => n === "set-cookie").length, 3, "set-cookie fields kept apart");
  assert.equal(head["x-upper"], "One, Two, Three");
  assert.equal(head["x-set"], "proxy");
  assert.equal(head["content-type"], "text/plain");
  assert.equal(head[":status"], 200);
});

test("HTTP/2 routing reads the request from the decoded list as from the object: header and method matches, Host, with and without repeated names, short and long lists", async () => {
  // The own codec makes node's headers object only when a name repeats or the list is long
  // (h2-own.ts); a route's header and method conditions, :authority and :path must read the same.
  const heads: string[] = [];
  const route: Route = {
    name: "x",
    match: {
      path: { type: "Prefix", value: "/" },
      headers: [{ name: "X-Tenant", type: "Exact", value: "blue" }],
      method: "POST",
    },
    action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
  };
  const { server, port } = await proxyRoute(route, { p: poolOf("p", [await backend(heads)]) });
  closers.push(() => server.close());
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.close());
  const many: http2.OutgoingHttpHeaders = {};
  for (let i = 0; i < 40; i++) many[`x-f${i}`] = String(i);
  const status = async (h: http2.OutgoingHttpHeaders): Promise<number> => {
    // No body (END_STREAM on HEADERS): the test backend reads heads only.
    const s = session.request(
      { ":path": "/p?q=1", ":authority": "app.test", ":method": "POST", ...h },
      { endStream: true },
    );
    s.resume();
    const ended = once(s, "end");
    const [head] = (await once(s, "response")) as [http2.IncomingHttpHeaders];
    await ended;
    return Number(head[":status"]);
  };
  assert.equal(await status({ "x-tenant": "blue" }), 200, "list path, matching header");
  assert.equal(await status({ "x-tenant": "red" }), 404, "list path, other value");
  assert.equal(await status({}), 404, "list path, no header");
  assert.equal(await status({ "x-tenant": "blue", cookie: ["a=1", "b=2"] }), 200, "object path (repeat)");
  assert.equal(await status({ "x-tenant": "blue", ...many }), 200, "long list");
  assert.equal(await status({ "x-tenant": "red", ...many }), 404, "long list, other value");
  assert.equal(heads.length, 3);
  for (const h of heads) {
    assert.match(h.split("\r\n")[0]!, /^POST \/p\?q=1 HTTP\/1\.1$/);
    assert.deepEqual(
      fieldsOf(h).filter(([k]) => k === "host"),
      [["host", "app.test"]],
    );
  }
});

test("HTTP/2 front, HTTP/1.1 backend: a 1xx (103 Early Hints) before the final response does not end the stream", async () => {
  // The backend's interim message ends before the final head: that end is not the response's.
  const server = net.createServer((sock) =>
    sock.on("data", () =>
      sock.write(
        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" +
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nfinal",
      ),
    ),
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(() => server.close());
  const route: Route = {
    name: "r",
    match: { path: { type: "Prefix", value: "/" } },
    action: { type: "Forward", backends: [{ pool: "p", weight: 1 }] },
  };
  const backendPort = (server.address() as net.AddressInfo).port;
  const { server: proxyServer, port } = await proxyRoute(route, { p: poolOf("p", [backendPort]) });
  closers.push(() => proxyServer.close());
  const uncaught: Error[] = [];
  const onUncaught = (e: Error) => void uncaught.push(e);
  process.on("uncaughtException", onUncaught);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    for (let i = 0; i < 2; i++) {
      const s = session.request({ ":path": "/", ":authority": "app.test" });
      let body = "";
      s.setEncoding("latin1");
      s.on("data", (c: string) => (body += c));
      const ended = once(s, "end");
      const [head] = (await once(s, "response")) as [http2.IncomingHttpHeaders];
      await ended;
      assert.equal(head[":status"], 200, `request ${i}`);
      assert.equal(body, "final", `request ${i}`);
    }
    assert.deepEqual(uncaught, []);
  } finally {
    process.off("uncaughtException", onUncaught);
    session.close();
  }
});
