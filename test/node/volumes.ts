// volumes.ts: a Pod's Secret, ConfigMap and emptyDir volumes as directories under the Pod's state
// directory, written once when the Pod starts (not refreshed when the object changes, unlike a
// kubelet), and the bind mounts each container gets. The binds happen inside the container's
// private mount namespace (container.ts), so the host never sees them; only a missing mountPath
// directory has to be created on the host, and acquireMountPoints records it for removal.
import { chmodSync, existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { ConfigError, valuesOf, type DataSource } from "./container-env.ts";
import type { Container, KeyToPath, Pod } from "./types.ts";

/** Bind is one bind mount of a container. */
export interface Bind {
  src: string;
  dst: string;
  readOnly: boolean;
}

/** writeVolumes materialises pod's volumes under dir; returns name → directory. Volume kinds the
 * agent does not know are a ConfigError naming them. */
export async function writeVolumes(pod: Pod, dir: string, read: DataSource): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    const path = join(dir, v.name);
    mkdirSync(path, { recursive: true });
    out.set(v.name, path);
    if (v.emptyDir) continue;
    const src = v.secret
      ? { kind: "secret" as const, name: v.secret.secretName, ...v.secret }
      : v.configMap
        ? { kind: "configmap" as const, ...v.configMap }
        : undefined;
    if (!src)
      throw new ConfigError(
        `volume "${v.name}": only secret, configMap and emptyDir volumes are supported by the node agent`,
      );
    const obj = await read(src.kind, src.name);
    if (!obj) {
      if (src.optional) continue;
      throw new ConfigError(`volume "${v.name}": ${src.kind} "${src.name}" not found`);
    }
    const values = valuesOf(src.kind, obj);
    const items: KeyToPath[] = src.items ?? [...values.keys()].map((key) => ({ key, path: key }));
    for (const item of items) {
      const data = values.get(item.key);
      if (data === undefined) {
        if (src.optional) continue;
        throw new ConfigError(`volume "${v.name}": ${src.kind} "${src.name}" has no key "${item.key}"`);
      }
      const file = join(path, normalize(item.path));
      if (!file.startsWith(path + "/"))
        throw new ConfigError(`volume "${v.name}": item path "${item.path}" leaves the volume`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, data);
      chmodSync(file, item.mode ?? src.defaultMode ?? 0o644);
    }
  }
  return out;
}

/** bindsFor lists c's volume mounts as binds; an unknown volume or a subPath is a ConfigError. */
export function bindsFor(c: Container, volumes: Map<string, string>): Bind[] {
  return (c.volumeMounts ?? []).map((m) => {
    const src = volumes.get(m.name);
    if (!src)
      throw new ConfigError(`container ${c.name}: volumeMount "${m.name}" names no volume of the Pod`);
    if (m.subPath)
      throw new ConfigError(
        `container ${c.name}: volumeMount "${m.name}" uses subPath, which the node agent does not support`,
      );
    return { src, dst: m.mountPath, readOnly: m.readOnly ?? false };
  });
}

/** held counts, per directory the agent created on the host for a mount point, the containers
 * whose binds need it: two Pods with the same mountPath share it, and removing it while one still
 * runs would detach that Pod's bind mount. Module-wide, as the host's file system is. */
const held = new Map<string, number>();

/** acquireMountPoints creates every missing directory binds need on the host and returns the
 * agent-created directories they rely on (each held once more); release them with
 * releaseMountPoints, which removes a directory (rmdir: only when empty) when nothing holds it. */
export function acquireMountPoints(binds: Bind[]): string[] {
  const mine = new Set<string>();
  for (const b of binds) {
    const missing: string[] = [];
    let d = normalize(b.dst);
    for (; !existsSync(d); d = dirname(d)) missing.push(d);
    for (const m of missing.reverse()) {
      mkdirSync(m);
      held.set(m, 0);
    }
    for (let a = normalize(b.dst); a !== dirname(a); a = dirname(a)) if (held.has(a)) mine.add(a);
  }
  for (const m of mine) held.set(m, held.get(m)! + 1);
  return [...mine];
}

/** releaseMountPoints drops one hold on each directory, deepest first, removing unheld ones. */
export function releaseMountPoints(dirs: string[]): void {
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    const n = (held.get(d) ?? 1) - 1;
    if (n > 0) {
      held.set(d, n);
      continue;
    }
    held.delete(d);
    try {
      rmdirSync(d);
    } catch {
      // Not empty: something else put files there; leave it rather than delete them.
    }
  }
}
