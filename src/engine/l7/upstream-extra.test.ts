// upstream-extra.test.ts: a backend that answers one request with two responses in one write. The
// second is nobody's: the client gets the first, the backend connection is closed (not pooled,
// its framing cannot be trusted), and the proxy goes on serving. Before, the second response's
// head went to the connection's owner after the first had released it (null): a TypeError out of
// the socket's read callback, which ends an engine process. Real sockets: node:http client and
// node:http2 client (own codec, h2c) in front, a raw TCP backend.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { once } from "node:events";
import { proxyAll } from "./testing.ts";

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

const TWICE =
  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra";

// backend answers every request head twice in one write; connections counts the connections it accepted.
async function backend(): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const server = net.createServer((sock) => {
    n++;
    let buf = "";
    sock.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      let end: number;
      while ((end = buf.indexOf("\r\n\r\n")) !== -1) {
        buf = buf.slice(end + 4);
        sock.write(TWICE);
      }
    });
    sock.on("error", () => sock.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, connections: () => n };
}

async function http1Get(port: number): Promise<{ status: number; body: string }> {
  const agent = new http.Agent({ keepAlive: false });
  const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get({ host: "127.0.0.1", port, path: "/", agent }, resolve).on("error", reject),
  );
  let body = "";
  for await (const c of res) body += (c as Buffer).toString();
  return { status: res.statusCode ?? 0, body };
}

test("a backend answering one request twice in one read: HTTP/1.1 clients get the first answer, the proxy goes on", async () => {
  const b = await backend();
  const { server, port } = await proxyAll("l", b.port);
  closers.push(() => server.close());
  for (let i = 0; i < 3; i++)
    assert.deepEqual(await http1Get(port), { status: 200, body: "ok" }, `request ${i}`);
  // Each request needed a new backend connection: none with a stray response was pooled.
  assert.equal(b.connections(), 3);
});

test("a backend answering one request twice in one read: HTTP/2 streams get the first answer, the proxy goes on", async () => {
  const b = await backend();
  const { server, port } = await proxyAll("l", b.port);
  closers.push(() => server.close());
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.close());
  for (let i = 0; i < 3; i++) {
    const s = session.request({ ":path": "/" });
    let body = "";
    s.on("data", (c: Buffer) => (body += c.toString()));
    const [head] = (await once(s, "response")) as [http2.IncomingHttpHeaders];
    await once(s, "end");
    assert.equal(head[":status"], 200, `stream ${i}`);
    assert.equal(body, "ok", `stream ${i}`);
  }
  assert.equal(b.connections(), 3);
});

// responses splits what a raw HTTP/1.1 client read into [status, body] pairs (Content-Length framing).
function responses(raw: string): [number, string][] {
  const out: [number, string][] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf("\r\n\r\n", at);
    if (end === -1) break;
    const head = raw.slice(at, end);
    const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? "0");
    out.push([Number(head.slice(9, 12)), raw.slice(end + 4, end + 4 + len)]);
    at = end + 4 + len;
  }
  return out;
}

test("a backend answering one request twice in one read: the pipelined request that took the connection meanwhile is sent again, not failed", async () => {
  // The first request's completion hands the backend connection to the second, pipelined one,
  // whose head is written at once; the stray second answer that follows in the same read cannot be
  // the second request's (it was not written when the backend wrote it). A GET that got none of
  // its own answer is safe to send again on a new connection, as in the keep-alive race.
  const b = await backend();
  const { server, port } = await proxyAll("l", b.port);
  closers.push(() => server.close());
  const c = net.connect(port, "127.0.0.1");
  closers.push(() => c.destroy());
  await once(c, "connect");
  let raw = "";
  c.on("data", (d: Buffer) => (raw += d.toString("latin1")));
  c.write("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  await once(c, "end");
  assert.deepEqual(responses(raw), [
    [200, "ok"],
    [200, "ok"],
  ]);
  assert.equal(b.connections(), 2);
});
