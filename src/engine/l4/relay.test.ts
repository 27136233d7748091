// relay.test.ts: the L4 relay over real loopback sockets — bytes intact both ways under
// backpressure (the reused read buffer must never be overwritten while a write still needs it),
// bytes read before the relay started, half-close, and that this Node still has the onread
// fields relay.ts adopts (if that fails, the relay silently runs on pipe(): look at relay.ts).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import net, { type Socket } from "node:net";
import { test } from "node:test";
import { relay, reusedBuffers } from "./relay.ts";

const HOST = "127.0.0.1";

/** proxied gives a client socket whose bytes travel client → accepted → relay → backend and back. */
async function proxied(
  onBackend: (s: Socket) => void,
  beforeRelay?: (accepted: Socket) => Promise<void>,
  backendOpts: net.ServerOpts = {},
) {
  const ups: Socket[] = [];
  const open: Socket[] = [];
  const backend = net.createServer({ allowHalfOpen: true, ...backendOpts }, (s) => {
    open.push(s);
    onBackend(s);
  });
  backend.listen(0, HOST);
  await once(backend, "listening");
  const front = net.createServer({ allowHalfOpen: true }, async (accepted) => {
    open.push(accepted);
    if (beforeRelay) await beforeRelay(accepted);
    const up = net.connect({
      host: HOST,
      port: (backend.address() as net.AddressInfo).port,
      allowHalfOpen: true,
    });
    await once(up, "connect");
    ups.push(up);
    relay(accepted, up);
    relay(up, accepted);
  });
  front.listen(0, HOST);
  await once(front, "listening");
  const client = net.connect({
    host: HOST,
    port: (front.address() as net.AddressInfo).port,
    allowHalfOpen: true,
  });
  await once(client, "connect");
  return {
    client,
    ups,
    close: () => {
      for (const s of [client, ...ups, ...open]) s.destroy();
      front.close();
      backend.close();
    },
  };
}

/** slowDigest hashes everything a socket receives, pausing it often so the sender's writes queue. */
function slowDigest(s: Socket): Promise<{ bytes: number; sha: string }> {
  const h = createHash("sha256");
  let bytes = 0;
  let n = 0;
  s.on("data", (d: Buffer) => {
    h.update(d);
    bytes += d.length;
    if (++n % 8 === 0) {
      s.pause();
      setImmediate(() => s.resume());
    }
  });
  return once(s, "end").then(() => ({ bytes, sha: h.digest("hex") }));
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

test("this Node has the onread fields the relay adopts", () => {
  assert.equal(reusedBuffers, true);
});

test("16 MiB each way arrive intact through a slow reader on both ends, then half-close", async () => {
  const up = randomBytes(16 << 20);
  const down = randomBytes(16 << 20);
  let atBackend: Promise<{ bytes: number; sha: string }> | undefined;
  const p = await proxied((s) => {
    atBackend = slowDigest(s);
    s.end(down);
  });
  const atClient = slowDigest(p.client);
  p.client.end(up);
  const [c, b] = await Promise.all([atClient, (async () => (await waitSet(() => atBackend))!)()]);
  assert.deepEqual(b, { bytes: up.length, sha: sha(up) });
  assert.deepEqual(c, { bytes: down.length, sha: sha(down) });
  p.close();
});

test("writes queued behind a stalled backend keep their bytes while reading goes on", async () => {
  const up = randomBytes(8 << 20);
  let backendSocket: Socket | undefined;
  // The backend reads nothing at first: the relay's writes to it must queue in Node.
  const p = await proxied((s) => (backendSocket = s), undefined, { pauseOnConnect: true });
  p.client.end(up);
  const relayUp = await waitSet(() => p.ups[0]);
  await waitSet(() => (relayUp.writableLength > 0 ? true : undefined));
  const b = await waitSet(() => backendSocket);
  const got = slowDigest(b);
  b.resume();
  assert.deepEqual(await got, { bytes: up.length, sha: sha(up) });
  p.close();
});

test("bytes the client sent before the relay started go first", async () => {
  let got = "";
  const done = new Promise<void>((resolve) => {
    void proxied(
      (s) => {
        s.on("data", (d: Buffer) => (got += d.toString()));
        s.on("end", () => {
          s.end();
          resolve();
        });
      },
      async (accepted) => {
        // Wait until the early bytes sit in the accepted socket's stream buffer, unread.
        while (accepted.readableLength < 5) await once(accepted, "readable");
      },
    ).then((p) => {
      p.client.write("early");
      setImmediate(() => p.client.end("+late"));
      void done.then(p.close);
    });
  });
  await done;
  assert.equal(got, "early+late");
});

test(
  "a client that sent its FIN before the relay started: the backend still gets it",
  { timeout: 5000 },
  async () => {
    let backendEnded: Promise<unknown> | undefined;
    const p = await proxied(
      (s) => {
        s.resume();
        backendEnded = once(s, "end");
      },
      async (accepted) => {
        accepted.resume();
        await once(accepted, "end");
        accepted.pause();
      },
    );
    p.client.end();
    await await waitSet(() => backendEnded);
    p.close();
  },
);

test("a half-closed client still gets the backend's answer", async () => {
  const p = await proxied((s) => {
    let q = "";
    s.on("data", (d: Buffer) => (q += d.toString()));
    // The backend answers only after the client's FIN arrived through the relay.
    s.on("end", () => s.end(`answer to ${q}`));
  });
  let a = "";
  p.client.on("data", (d: Buffer) => (a += d.toString()));
  p.client.end("question");
  await once(p.client, "end");
  assert.equal(a, "answer to question");
  p.close();
});

/** waitSet polls a value set by another callback (the backend's connection handler). */
async function waitSet<T>(get: () => T | undefined): Promise<T> {
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    await new Promise((r) => setImmediate(r));
  }
}
