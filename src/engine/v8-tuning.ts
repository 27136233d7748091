// v8-tuning.ts: the V8 settings the data plane runs with. They are set when an Engine is made
// (in the controller's process or in a worker) because NODE_OPTIONS carries only a few of V8's
// flags, and a flag set here reaches every way Portico starts an engine.
//
// Allocation-site pretenuring is off. V8 counts how many objects from each allocation site
// survive young-generation collections, and past a threshold allocates that site's objects
// directly in the old generation. Keep-alive traffic (64 HTTPS connections living for seconds)
// pushes the sites that make a connection's objects — the socket, its stream state, our
// connection — over it. From then on every short-lived connection is born old and dies old, and
// until the next full collection the dead old objects keep the young ones they point to alive,
// so those are promoted as well. Measured with Connection: close at 64 connections after 5 s of
// HTTPS keep-alive: 1.3 MB promoted per scavenge instead of 0.17 MB, a mark-compact every
// ~0.7 s instead of one in 6 s, and 12.2–14.5k req/s against 14.6–17.0k without pretenuring.
// Keep-alive throughput does not change. A proxy has few objects that pretenuring would help: the
// long-lived ones (configuration, pools) are made once.
import { setFlagsFromString } from "node:v8";

/** tuneV8 applies the settings; setting a flag again is harmless, so every Engine calls it. */
export function tuneV8(): void {
  setFlagsFromString("--no-allocation-site-pretenuring");
}
