// connection.test.ts: H2Connection against node:http2's client over real sockets (h2c): requests
// and responses, bodies beyond both flow-control windows in each direction, backpressure with
// drain, trailers both ways, resets both ways, graceful close, one socket write per turn for many
// streams, and the 431 answer to a header list above the limit.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { H2Connection, type H2Handler, type H2Settings } from "./connection.ts";
import { NO_QUEUE, type H2Stream } from "./stream.ts";

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
after(() => {
  sockets.forEach((s) => s.destroy());
  servers.forEach((s) => s.close());
});

// serve listens and runs each connection with the handler made by make(); conns holds them.
async function serve(
  make: () => H2Handler,
  settings: Partial<H2Settings> = {},
): Promise<{ url: string; conns: H2Connection[] }> {
  const conns: H2Connection[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    conns.push(new H2Connection(socket, make(), settings));
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, conns };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// fetch sends one request and collects the response.
async function fetch(
  client: http2.ClientHttp2Session,
  path: string,
  body?: Buffer,
  trailers?: Record<string, string>,
): Promise<{
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
}> {
  const req = client.request(
    { ":path": path, ":method": body ? "POST" : "GET" },
    { endStream: !body, waitForTrailers: trailers !== undefined },
  );
  if (trailers) req.on("wantTrailers", () => req.sendTrailers(trailers));
  if (body) req.end(body);
  const chunks: Buffer[] = [];
  let got: http2.IncomingHttpHeaders = {};
  req.on("trailers", (t) => (got = t));
  req.on("data", (c: Buffer) => chunks.push(c));
  const [headers] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
  await once(req, "end");
  return { status: Number(headers[":status"]), headers, body: Buffer.concat(chunks), trailers: got };
}

// echo answers with the request body's length, path and trailers once the request ended.
function echo(): H2Handler {
  return {
    stream(s, fields, end) {
      let n = 0;
      let tr = "";
      const answer = () => {
        s.respond(200, [
          "x-len",
          String(n),
          "x-path",
          s.path,
          "x-trailers",
          tr,
          "x-ua",
          fields[fields.indexOf("user-agent") + 1] ?? "",
        ]);
        s.write(Buffer.from(`hello ${s.method}`), true);
      };
      if (end) return answer();
      s.onData = (c) => void (n += c.length);
      s.onTrailers = (t) => void (tr = t.join("="));
      s.onEnd = answer;
    },
  };
}

test("GET and POST: head, body and request fields reach the handler; the response reaches node:http2", async () => {
  let closes = 0;
  const { url } = await serve(() => {
    const h = echo();
    return {
      stream(s, fields, end) {
        s.onClose = () => closes++;
        h.stream(s, fields, end);
      },
    };
  });
  const client = http2.connect(url);
  const get = await fetch(client, "/a?b=c");
  await until("onClose of the finished stream", () => closes === 1);
  assert.equal(get.status, 200);
  assert.equal(get.headers["x-path"], "/a?b=c");
  assert.equal(get.body.toString(), "hello GET");
  const post = await fetch(client, "/p", Buffer.alloc(1000, 1));
  assert.equal(post.headers["x-len"], "1000");
  assert.equal(post.body.toString(), "hello POST");
  client.close();
});

test("a 3 MiB request body passes both receive windows (WINDOW_UPDATE on stream and connection)", async () => {
  const { url } = await serve(echo);
  const client = http2.connect(url);
  const r = await fetch(client, "/big", Buffer.alloc(3 << 20, 2));
  assert.equal(r.headers["x-len"], String(3 << 20));
  client.close();
});

test("a 2 MiB response passes the client's windows; write() returns false and onDrain follows", async () => {
  let drained = 0;
  let refused = 0;
  const { url } = await serve(() => ({
    stream(s) {
      s.respond(200, ["content-type", "application/octet-stream"]);
      const chunk = Buffer.alloc(64 << 10, 3);
      let sent = 0;
      const more = () => {
        while (sent < 32) {
          sent++;
          // The last write ends the stream: whatever it returns, no drain is owed.
          if (!s.write(chunk, sent === 32) && sent < 32) {
            refused++;
            return;
          }
        }
      };
      s.onDrain = () => {
        drained++;
        more();
      };
      more();
    },
  }));
  const client = http2.connect(url);
  const r = await fetch(client, "/");
  assert.equal(r.body.length, 2 << 20);
  assert.ok(refused > 0 && drained === refused, `refused ${refused}, drained ${drained}`);
  client.close();
});

test("several writes of one turn on several streams arrive whole and in order; the shared empty queue stays empty", async () => {
  const { url } = await serve(() => ({
    stream(s, fields) {
      const path = fields[fields.indexOf(":path") + 1]!;
      s.respond(200, []);
      // Small and large pieces, then the end, all before the turn's flush frames them.
      for (let i = 0; i < 5; i++) s.write(Buffer.from(`${path}:${i};`));
      s.write(Buffer.alloc(70_000, path.charCodeAt(1)));
      s.write(Buffer.from("end"), true);
    },
  }));
  const client = http2.connect(url);
  const got = await Promise.all(["/a", "/b", "/c"].map((p) => fetch(client, p)));
  for (const [i, p] of ["/a", "/b", "/c"].entries()) {
    const want = Buffer.concat([
      Buffer.from([0, 1, 2, 3, 4].map((k) => `${p}:${k};`).join("")),
      Buffer.alloc(70_000, p.charCodeAt(1)),
      Buffer.from("end"),
    ]);
    assert.ok(got[i]!.body.equals(want), `body of ${p}`);
  }
  assert.equal(NO_QUEUE.length, 0);
  client.close();
});

test("trailers both ways", async () => {
  const { url } = await serve(() => ({
    stream(s) {
      let tr: string[] = [];
      s.onTrailers = (t) => (tr = t);
      s.onEnd = () => {
        s.respond(200, []);
        s.write(Buffer.from("x"));
        s.end(["grpc-status", "0", "x-got", tr.join("=")]);
      };
    },
  }));
  const client = http2.connect(url);
  const r = await fetch(client, "/", Buffer.from("body"), { "x-checksum": "abc" });
  assert.equal(r.body.toString(), "x");
  assert.equal(r.trailers["grpc-status"], "0");
  assert.equal(r.trailers["x-got"], "x-checksum=abc");
  client.close();
});

test("a client reset reaches onReset with its code; a server reset reaches the client", async () => {
  const resets: number[] = [];
  const opened: H2Stream[] = [];
  const { url } = await serve(() => ({
    stream(s) {
      opened.push(s);
      s.onReset = (code) => resets.push(code);
      if (s.path === "/reset-me") s.reset(http2.constants.NGHTTP2_REFUSED_STREAM);
    },
  }));
  const client = http2.connect(url);
  const req = client.request({ ":path": "/slow" });
  req.on("error", () => {});
  await until("the stream at the server", () => opened.length === 1);
  req.close(http2.constants.NGHTTP2_CANCEL);
  await until("onReset", () => resets.length === 1);
  assert.deepEqual(resets, [8]);
  const r2 = client.request({ ":path": "/reset-me" });
  r2.on("error", () => {});
  await new Promise((r) => r2.on("close", r));
  assert.equal(r2.rstCode, http2.constants.NGHTTP2_REFUSED_STREAM);
  client.close();
});

test("holdWindow: the client stops at the stream window until the exchange consumes", async () => {
  let received = 0;
  let released = false;
  let stream: H2Stream | undefined;
  const { url } = await serve(
    () => ({
      stream(s) {
        stream = s;
        s.holdWindow = true;
        s.onData = (c) => {
          received += c.length;
          if (released) s.consume(c.length);
        };
        s.onEnd = () => {
          s.respond(200, [], true);
        };
      },
    }),
    { streamWindow: 65_535 },
  );
  const client = http2.connect(url);
  const req = client.request({ ":path": "/", ":method": "POST" });
  req.end(Buffer.alloc(200_000));
  req.resume();
  const response = once(req, "response");
  await until("the first window", () => received === 65_535);
  // Nothing more comes while the window is held (checked over several turns of real I/O).
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(received, 65_535);
  released = true;
  stream!.consume(received);
  await until("the whole body", () => received === 200_000);
  const [h] = (await response) as [http2.IncomingHttpHeaders];
  assert.equal(h[":status"], 200);
  client.close();
});

test("100 streams answered in one turn leave in one socket write", async () => {
  const { url, conns } = await serve(() => {
    const pending: H2Stream[] = [];
    return {
      stream(s) {
        pending.push(s);
        // Answer all at once when the 100th arrives (they come in one or a few reads).
        if (pending.length === 100) for (const p of pending.splice(0)) p.respond(200, ["x-n", "1"], true);
      },
    };
  });
  const client = http2.connect(url);
  await once(client, "connect");
  await until("the connection", () => conns.length === 1);
  const socket = conns[0]!.socket;
  const write = socket.write.bind(socket);
  let writes = 0;
  socket.write = ((...a: Parameters<typeof write>) => {
    writes++;
    return write(...a);
  }) as typeof socket.write;
  const all = Array.from({ length: 100 }, () => {
    const r = client.request({ ":path": "/" });
    r.resume();
    return once(r, "response");
  });
  await Promise.all(all);
  // One write for the 100 responses, plus at most the WINDOW_UPDATE/ACK writes of earlier reads.
  assert.ok(writes <= 3, `socket writes: ${writes}`);
  client.close();
});

test("close(): GOAWAY NO_ERROR, the stream in flight completes, then the socket closes", async () => {
  let later: H2Stream | undefined;
  const { url, conns } = await serve(() => ({
    stream(s) {
      later = s;
    },
  }));
  const client = http2.connect(url);
  const req = client.request({ ":path": "/" });
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  await until("the stream", () => later !== undefined);
  let goaway = -1;
  client.on("goaway", (code) => (goaway = code));
  conns[0]!.close();
  later!.respond(200, []);
  later!.write(Buffer.from("done"), true);
  await once(req, "end");
  assert.equal(Buffer.concat(chunks).toString(), "done");
  await once(client, "close");
  assert.equal(goaway, 0);
});

test("the socket closing resets open streams (CANCEL) and tells the handler", async () => {
  const resets: number[] = [];
  let closed = false;
  let opened = 0;
  const { url } = await serve(() => ({
    stream(s) {
      opened++;
      s.onReset = (c) => resets.push(c);
    },
    closed: () => void (closed = true),
  }));
  const client = http2.connect(url);
  for (let i = 0; i < 3; i++) client.request({ ":path": "/" }).on("error", () => {});
  await until("3 streams open", () => opened === 3);
  client.destroy();
  await until("closed", () => closed);
  // node's client resets its streams as it goes (NO_ERROR) or just closes (CANCEL): three either way.
  assert.equal(resets.length, 3);
});

test("a header list above SETTINGS_MAX_HEADER_LIST_SIZE is answered 431", async () => {
  const { url } = await serve(echo, { maxHeaderListSize: 4096 });
  const client = http2.connect(url, { maxHeaderListPairs: 10_000 });
  const req = client.request({ ":path": "/", "x-big": "a".repeat(8000) });
  req.resume();
  const [h] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
  assert.equal(h[":status"], 431);
  client.close();
});

test("DATA the client sent before it saw our RST_STREAM is ignored, not answered with another reset", async () => {
  const { url, conns } = await serve(() => ({
    stream(s) {
      // An early answer, then the rest of the body is refused (a proxy's 413).
      s.respond(413, [], true);
      s.reset(http2.constants.NGHTTP2_CANCEL);
    },
  }));
  const client = http2.connect(url);
  await once(client, "connect");
  await until("the connection", () => conns.length === 1);
  const socket = conns[0]!.socket;
  const write = socket.write.bind(socket);
  const rsts: number[] = [];
  socket.write = ((b: Buffer, ...rest: unknown[]) => {
    // Frame headers of RST_STREAM (type 3) this connection writes.
    for (let at = 0; at + 9 <= b.length; at += 9 + b.readUIntBE(at, 3))
      if (b[at + 3] === 3) rsts.push(b.readUInt32BE(at + 5));
    return (write as (...a: unknown[]) => boolean)(b, ...rest);
  }) as typeof socket.write;
  const req = client.request({ ":path": "/", ":method": "POST" });
  req.on("error", () => {});
  req.write(Buffer.alloc(50_000));
  req.end(Buffer.alloc(10_000));
  await new Promise((r) => req.on("close", r));
  // One more request on the connection proves it is alive, and lets late frames arrive first.
  const r2 = client.request({ ":path": "/" });
  r2.on("error", () => {});
  r2.resume();
  const [h] = (await once(r2, "response")) as [http2.IncomingHttpHeaders];
  assert.equal(h[":status"], 413);
  assert.deepEqual(
    rsts.filter((id) => id === 1),
    [1],
  );
  client.close();
});

test("a response head larger than a frame goes as HEADERS and CONTINUATION", async () => {
  const big = "v".repeat(40_000);
  const { url } = await serve(() => ({
    stream(s) {
      s.respond(200, ["x-big", big, "x-after", "1"], true);
    },
  }));
  const client = http2.connect(url, { maxHeaderListPairs: 100, settings: { maxHeaderListSize: 1 << 20 } });
  const req = client.request({ ":path": "/" });
  req.resume();
  const [h] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
  assert.equal(h["x-big"], big);
  assert.equal(h["x-after"], "1");
  client.close();
});
