// h2-own.test.ts: Portico's own HTTP/2 codec (src/engine/h2) in the test server of
// test/support/h2-own-server.ts, over h2c and TLS (ALPN h2): every h2spec case (none left out,
// unlike h2spec.test.ts's node:http2 run), and the hostile clients of h2-abuse.test.ts — rapid
// reset, CONTINUATION, SETTINGS and PING floods, streams past the limit, WINDOW_UPDATE floods —
// each cut with GOAWAY ENHANCE_YOUR_CALM, while a client that cancels now and then, or drops its
// connection with streams open, is not.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { once } from "node:events";
import { selfSigned } from "../support/certs.ts";
import { startOwnServer } from "../support/h2-own-server.ts";
import { h2specMissing, runH2spec } from "../support/h2spec.ts";
import {
  ENHANCE_YOUR_CALM,
  FRAME,
  RawH2,
  flood,
  frame,
  getBlock,
  ping,
  rapidReset,
  settings,
} from "./h2-raw.ts";

const missing = h2specMissing();

const cert = selfSigned(["a.example.com"]);
const plain = await startOwnServer();
// Answers 20 ms late, as a proxy's would be after a backend's: a reset in the same read as its
// HEADERS finds the stream unanswered (an instant answer would end it first, and cost nothing).
const secure = await startOwnServer({ tls: { key: cert.keyPem, cert: cert.certPem }, delayMs: 20 });
const slow = await startOwnServer({ delayMs: 20 });
// h2spec's section 5.1 cases send a frame after HEADERS with END_STREAM; a delayed answer keeps
// the stream half-closed (remote) while they run, as h2spec.test.ts's backend does.
const delayed = await startOwnServer({ delayMs: 100 });
after(async () => {
  await plain.close();
  await secure.close();
  await delayed.close();
  await slow.close();
});

for (const [name, tls] of [
  ["h2c, immediate answers", false],
  ["h2c, answers after 100 ms", false],
  ["TLS (ALPN h2)", true],
] as const) {
  test(`h2spec, every case: ${name}`, { skip: missing }, async () => {
    const port = tls ? secure.port : name.includes("100 ms") ? delayed.port : plain.port;
    const r = await runH2spec(port, [], tls);
    assert.equal(r.failed, 0, r.failures);
    assert.equal(r.total, 145, "the case count drifted from h2spec 2.2.1's");
  });
}

let nextSource = 0;
const source = () => `127.0.8.${++nextSource}`;

async function expectCut(abuse: (c: RawH2) => Promise<unknown>, reason: string, tls = false): Promise<void> {
  const server = tls ? secure : slow;
  const before = server.cuts.get(reason as never) ?? 0;
  const c = tls
    ? await RawH2.open(server.port, { servername: "a.example.com", ca: cert.certPem }, "127.0.0.1", source())
    : await RawH2.open(server.port, undefined, "127.0.0.1", source());
  await abuse(c);
  await c.until("GOAWAY and close", () => c.goaway() !== undefined && c.closed);
  assert.equal(c.goaway(), ENHANCE_YOUR_CALM, `GOAWAY code for ${reason}`);
  assert.equal(server.cuts.get(reason as never), before + 1, `cuts for ${reason}`);
}

test("rapid reset is cut (h2c and TLS)", async () => {
  await expectCut((c) => rapidReset(c, "a.test"), "rapid_reset");
  await expectCut((c) => rapidReset(c, "a.example.com"), "rapid_reset", true);
});

test("rapid reset in one burst of 3000 is cut as rapid_reset", async () => {
  await expectCut((c) => rapidReset(c, "a.test", 3000, 3000), "rapid_reset");
});

test("CONTINUATION flood is cut", async () => {
  await expectCut(async (c) => {
    c.write(frame(FRAME.HEADERS, 0x1, 1, getBlock("a.test")));
    await flood(c, () => frame(FRAME.CONTINUATION, 0, 1, Buffer.from([0x40, 1, 0x78, 1, 0x79])), 20, 5000);
  }, "frame_flood");
});

test("SETTINGS and PING floods are cut; so is a PING flood in one write", async () => {
  await expectCut((c) => flood(c, () => settings()), "settings_flood");
  await expectCut((c) => flood(c, (i) => ping(i)), "ping_flood");
  await expectCut(
    async (c) => c.write(Buffer.concat(Array.from({ length: 20_000 }, (_, i) => ping(i)))),
    "ping_flood",
  );
});

test("opening streams far past SETTINGS_MAX_CONCURRENT_STREAMS is cut", async () => {
  await expectCut(async (c) => {
    const out: Buffer[] = [];
    for (let i = 0; i < 1000; i++) out.push(frame(FRAME.HEADERS, 0x4, 1 + 2 * i, getBlock("a.test")));
    c.write(Buffer.concat(out));
  }, "frame_flood");
});

test("a WINDOW_UPDATE flood is cut", async () => {
  const one = Buffer.alloc(4);
  one.writeUInt32BE(1);
  await expectCut(
    (c) => flood(c, () => frame(FRAME.WINDOW_UPDATE, 0, 0, one), 1000, 10_000_000),
    "frame_flood",
  );
});

test("a zero WINDOW_UPDATE on a stream is a stream PROTOCOL_ERROR, not abuse", async () => {
  const c = await RawH2.open(delayed.port);
  c.write(frame(FRAME.HEADERS, 0x4, 1, getBlock("a.test")));
  c.write(frame(FRAME.WINDOW_UPDATE, 0, 1, Buffer.alloc(4)));
  await c.until("RST_STREAM", () => c.frames.some((f) => f.type === FRAME.RST_STREAM));
  const rst = c.frames.find((f) => f.type === FRAME.RST_STREAM)!;
  assert.equal(rst.payload.readUInt32BE(0), 0x1);
  assert.equal(c.goaway(), undefined);
  c.close();
});

test("a client that cancels one request in four is not cut", async () => {
  const client = http2.connect(`http://127.0.0.1:${slow.port}`);
  let goaway = false;
  client.on("goaway", () => (goaway = true));
  client.on("error", () => {});
  for (let i = 0; i < 400; i++) {
    const req = client.request({ ":path": "/", ":authority": "a.test" });
    req.on("error", () => {});
    req.resume();
    if (i % 4 === 0) req.close(http2.constants.NGHTTP2_CANCEL);
    else await once(req, "end");
  }
  assert.equal(goaway, false);
  client.close();
});

test("a client that drops its TCP connection with 150 streams open is not taken for a rapid reset", async () => {
  const before = plain.cuts.get("rapid_reset") ?? 0;
  for (let round = 0; round < 3; round++) {
    const c = await RawH2.open(plain.port, undefined, "127.0.0.1", "127.0.9.1");
    const conns = plain.connections.size;
    const out: Buffer[] = [];
    // No END_STREAM: every stream waits for a body and stays open.
    for (let i = 0; i < 150; i++) out.push(frame(FRAME.HEADERS, 0x4, 2 * i + 1, getBlock("a.test")));
    c.write(Buffer.concat(out));
    await c.until("SETTINGS", () => c.frames.length > 0);
    c.close();
    await assertEventually(() => plain.connections.size < conns, "the connection gone");
  }
  assert.equal(plain.cuts.get("rapid_reset") ?? 0, before);
});

async function assertEventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
