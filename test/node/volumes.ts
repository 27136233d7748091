// volumes.ts: a Pod's Secret, ConfigMap and emptyDir volumes as directories under the Pod's state
// directory, written once when the Pod starts (not refreshed when the object changes, unlike a
// kubelet), and the bind mounts each container gets. The binds happen inside the container's
// private mount namespace (container.ts), so the host never sees them; only a missing mountPath
// directory has to be created on the host, and mountPoints records it for removal.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
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
    if (!src) throw new ConfigError(`volume "${v.name}": only secret, configMap and emptyDir volumes are supported by the node agent`);
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
      if (!file.startsWith(path + "/")) throw new ConfigError(`volume "${v.name}": item path "${item.path}" leaves the volume`);
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
    if (!src) throw new ConfigError(`container ${c.name}: volumeMount "${m.name}" names no volume of the Pod`);
    if (m.subPath) throw new ConfigError(`container ${c.name}: volumeMount "${m.name}" uses subPath, which the node agent does not support`);
    return { src, dst: m.mountPath, readOnly: m.readOnly ?? false };
  });
}

/** mountPoints creates every missing directory a bind needs on the host and returns the ones it
 * created, deepest first, so that cleanup can remove exactly those (rmdir) and nothing else. */
export function mountPoints(binds: Bind[]): string[] {
  const created: string[] = [];
  for (const b of binds) {
    const missing: string[] = [];
    for (let d = normalize(b.dst); !existsSync(d); d = dirname(d)) missing.push(d);
    for (const d of missing.reverse()) {
      mkdirSync(d);
      created.push(d);
    }
  }
  return created.reverse();
}
