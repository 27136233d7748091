// container-env.ts: a container's environment as a kubelet builds it — envFrom, then env in order
// (value, the Downward API's fieldRef and resourceFieldRef, Secret and ConfigMap keys), with
// $(VAR) references expanded against what is defined so far; and command and args expanded the
// same way. Not inherited from the agent: a container sees only PATH, HOSTNAME and what it declares.
import { cpus, totalmem } from "node:os";
import type { Container, DataObject, Pod } from "./types.ts";

/** ConfigError is a container whose configuration cannot be built yet (a missing Secret or key);
 * the agent reports it as CreateContainerConfigError and retries, as a kubelet does. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** DataSource reads a Secret or ConfigMap of the Pod's namespace; undefined when it does not exist. */
export type DataSource = (kind: "secret" | "configmap", name: string) => Promise<DataObject | undefined>;

/** PodFacts are the Downward API values that are not in the Pod spec. */
export interface PodFacts {
  podIP: string;
  hostIP: string;
  nodeName: string;
}

/** valuesOf decodes an object's keys: Secret data and ConfigMap binaryData are base64. */
export function valuesOf(kind: "secret" | "configmap", obj: DataObject): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(obj.data ?? {}))
    out.set(k, kind === "secret" ? Buffer.from(v, "base64") : Buffer.from(v, "utf8"));
  for (const [k, v] of Object.entries(obj.binaryData ?? {})) out.set(k, Buffer.from(v, "base64"));
  return out;
}

/** containerEnv builds c's environment. */
export async function containerEnv(
  pod: Pod,
  c: Container,
  facts: PodFacts,
  read: DataSource,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOSTNAME: pod.metadata.name,
  };
  const cache = new Map<string, Map<string, Buffer> | undefined>();
  const data = async (kind: "secret" | "configmap", name: string) => {
    const k = `${kind}/${name}`;
    if (!cache.has(k)) {
      const obj = await read(kind, name);
      cache.set(k, obj && valuesOf(kind, obj));
    }
    return cache.get(k);
  };
  for (const from of c.envFrom ?? []) {
    const [kind, ref] = from.secretRef
      ? (["secret", from.secretRef] as const)
      : (["configmap", from.configMapRef!] as const);
    const values = await data(kind, ref.name);
    if (!values) {
      if (ref.optional) continue;
      throw new ConfigError(`${kind} "${ref.name}" not found (envFrom of container ${c.name})`);
    }
    for (const [k, v] of values) env[(from.prefix ?? "") + k] = v.toString("utf8");
  }
  for (const e of c.env ?? []) {
    const from = e.valueFrom;
    if (!from) {
      env[e.name] = expand(e.value ?? "", env);
      continue;
    }
    if (from.fieldRef) env[e.name] = fieldValue(pod, from.fieldRef.fieldPath, facts);
    else if (from.resourceFieldRef) env[e.name] = resourceValue(pod, c, from.resourceFieldRef);
    else {
      const [kind, ref] = from.secretKeyRef
        ? (["secret", from.secretKeyRef] as const)
        : (["configmap", from.configMapKeyRef!] as const);
      const v = (await data(kind, ref.name))?.get(ref.key);
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ConfigError(
          `${kind} "${ref.name}" key "${ref.key}" not found (env ${e.name} of container ${c.name})`,
        );
      }
      env[e.name] = v.toString("utf8");
    }
  }
  return env;
}

/** expand replaces $(NAME) with env's value; $$( escapes, unknown names stay as written. */
export function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) =>
    m === "$$" ? "$" : name !== undefined && name in env ? env[name]! : m,
  );
}

/** fieldValue is one Downward API fieldRef. */
export function fieldValue(pod: Pod, path: string, facts: PodFacts): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]!] ?? "";
  switch (path) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace;
    case "metadata.uid":
      return pod.metadata.uid;
    case "metadata.labels":
      return mapLines(pod.metadata.labels);
    case "metadata.annotations":
      return mapLines(pod.metadata.annotations);
    case "spec.nodeName":
      return facts.nodeName;
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "";
    case "status.podIP":
    case "status.podIPs":
      return facts.podIP;
    case "status.hostIP":
    case "status.hostIPs":
      return facts.hostIP;
    default:
      throw new ConfigError(`fieldRef ${path} is not supported by the node agent (test/node/README.md)`);
  }
}

function mapLines(m: Record<string, string> | undefined): string {
  return Object.entries(m ?? {})
    .map(([k, v]) => `${k}="${v}"`)
    .join("\n");
}

/** resourceValue is a resourceFieldRef: the container's limit or request, a limit defaulting to
 * the machine's capacity (as a kubelet defaults it to the node's allocatable), over the divisor. */
function resourceValue(
  pod: Pod,
  c: Container,
  ref: { containerName?: string; resource: string; divisor?: string | number },
): string {
  const target = ref.containerName ? (pod.spec.containers.find((x) => x.name === ref.containerName) ?? c) : c;
  const [kind, res] = ref.resource.split(".") as ["limits" | "requests", string];
  const capacity: Record<string, number> = { cpu: cpus().length, memory: totalmem(), "ephemeral-storage": 0 };
  const set = target.resources?.[kind]?.[res];
  const value = set !== undefined ? quantity(set) : kind === "limits" ? (capacity[res] ?? 0) : 0;
  const divisor = quantity(ref.divisor ?? 1) || 1;
  return String(Math.ceil(value / divisor));
}

const SUFFIX: Record<string, number> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** quantity reads a resource.Quantity ("500m", "64Mi", 2). */
export function quantity(q: string | number): number {
  if (typeof q === "number") return q;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m || (m[2] && SUFFIX[m[2]] === undefined))
    throw new ConfigError(`resource quantity "${q}" is not understood`);
  return parseFloat(m[1]!) * (m[2] ? SUFFIX[m[2]]! : 1);
}
