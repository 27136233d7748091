// h2-grpc-pings-own.test.ts: h2-grpc-pings.test.ts on the own HTTP/2 codec (src/engine/h2/): the
// switch is read when the engine loads, so it is set before the cases are imported.
process.env.PORTICO_H2_CODEC = "own";
const { ownCodec } = await import("../../src/engine/l7/h2-own.ts");
if (!ownCodec()) throw new Error("PORTICO_H2_CODEC=own did not switch the codec on");
await import("./h2-grpc-pings.test.ts");
