// connection-pings.test.ts: H2Connection's PING rule against node:http2's client over a real
// socket (h2c): PINGs that each follow HEADERS or DATA of ours (gRPC's BDP pings) are never
// counted; PINGs with nothing of ours in between are a flood, cut with GOAWAY ENHANCE_YOUR_CALM.
// A file of its own: connection.test.ts's serve() takes no abuse limits.
import { after } from "node:test";
import net from "node:net";
import { once } from "node:events";
import { pingTests } from "../../../test/support/h2-pings.ts";
import type { AddressInfo } from "node:net";
import { type CutReason, defaultAbuseLimits } from "./abuse.ts";
import { H2Connection } from "./connection.ts";
import { ErrorCode } from "./frames.ts";

const limits = { ...defaultAbuseLimits, maxPings: 20 };
const cuts: CutReason[] = [];
const server = net.createServer((socket) => {
  new H2Connection(
    socket,
    {
      stream(s) {
        s.respond(200, [], false);
        s.write(Buffer.alloc(100, 0x78), true);
      },
      cut: (reason) => void cuts.push(reason),
    },
    {},
    limits,
  );
});
server.listen(0, "127.0.0.1");
await once(server, "listening");
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => server.close());

pingTests(url, limits.maxPings, cuts, ErrorCode.ENHANCE_YOUR_CALM);
