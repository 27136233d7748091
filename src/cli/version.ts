// version.ts: this Portico's version, for `portico version` and for what the controller says of
// its engines (the local engine's identity).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** version is the version in Portico's package.json, found upwards from this file: the sources
 * sit two levels below it, the build (.cache/dist.N/src/cli) four. */
export function version(): string {
  for (let dir = import.meta.dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "portico" && pkg.version) return pkg.version;
  }
  return "unknown";
}
