// h2-adopted-reads-node.test.ts: h2-adopted-reads.test.ts's cases with node:http2 serving HTTP/2
// (PORTICO_H2_CODEC=node, the fallback kept for one release). The codec is read once, at the first
// HTTP/2 connection, so setting it before the cases load is enough; each test file has its process.
process.env.PORTICO_H2_CODEC = "node";
await import("./h2-adopted-reads.test.ts");
