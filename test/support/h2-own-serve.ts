// h2-own-serve.ts: runs one test HTTP/2 server in a process of its own for h2-own-bench.ts —
// `own` (src/engine/h2) or `node` (node:http2), over TLS (ALPN h2) or h2c — and prints its port.
// Usage: sh scripts/node.sh test/support/h2-own-serve.ts own|node tls|h2c
import { nodeH2Server, startOwnServer } from "./h2-own-server.ts";
import { selfSigned } from "./certs.ts";

const [kind, transport] = process.argv.slice(2);
if ((kind !== "own" && kind !== "node") || (transport !== "tls" && transport !== "h2c"))
  throw new Error("usage: h2-own-serve.ts own|node tls|h2c");
const cert = transport === "tls" ? selfSigned(["localhost"]) : undefined;
const tls = cert && { key: cert.keyPem, cert: cert.certPem };
const server = kind === "own" ? await startOwnServer({ tls }) : await nodeH2Server({ tls });
console.log(`PORT ${server.port}`);
process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
