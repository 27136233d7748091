// h2-guard.test.ts: H2Guard's PING rule on a real node:http2 server and client (h2c): PINGs that
// each follow a response of the server's (gRPC's BDP pings) are never counted; PINGs with nothing
// written in between are a flood and cut the connection with GOAWAY ENHANCE_YOUR_CALM.
import { after } from "node:test";
import http2 from "node:http2";
import { once } from "node:events";
import { pingTests } from "../../../test/support/h2-pings.ts";
import type { AddressInfo } from "node:net";
import { type CutReason, ENHANCE_YOUR_CALM, H2Guard, defaultH2Limits } from "./h2-guard.ts";

// maxPings 20: the flood is cut within a few writes; penaltyCuts 0 keeps the box out of it.
const limits = { ...defaultH2Limits, maxPings: 20, penaltyCuts: 0 };
const cuts: CutReason[] = [];
const server = http2.createServer();
server.on("session", (session) => {
  new H2Guard(session, limits, "test", { cut: (reason) => void cuts.push(reason) });
  session.on("error", () => session.destroy());
});
server.on("stream", (stream) => {
  stream.on("error", () => {});
  stream.respond({ ":status": 200 });
  stream.end("x".repeat(100));
});
server.listen(0, "127.0.0.1");
await once(server, "listening");
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => server.close());

pingTests(url, limits.maxPings, cuts, ENHANCE_YOUR_CALM);
