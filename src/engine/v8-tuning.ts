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

/**
 * ENGINE_NODE_FLAGS are V8 flags an engine's process must be started with: they act from start-up
 * on, before any of our code runs, and Node refuses them in NODE_OPTIONS. bin/portico and the
 * image's ENTRYPOINT pass them, the bench passes them to its engines, and `--workers N` forks its
 * engine processes with the controller's flags (v8-tuning.test.ts and test/e2e/bin-portico.test.ts check them).
 *
 * `--no-maglev`: Maglev, V8's mid-tier optimising compiler, compiles the module loader's path
 * functions while the build's ~300 modules load; from then on its 1.8 MiB of machine code in the
 * node binary stays resident, which setting the flag at run time (as tuneV8 does for the rest)
 * comes too late to prevent. Without it hot functions go from the baseline compiler to TurboFan,
 * which the request path reaches either way (docs/performance.md, "Pages, threads and flags").
 */
export const ENGINE_NODE_FLAGS: readonly string[] = ["--no-maglev"];

/** tuneV8 applies the settings; setting a flag again is harmless, so every Engine calls it. */
export function tuneV8(): void {
  setFlagsFromString("--no-allocation-site-pretenuring");
}
