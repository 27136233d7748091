// group-status.ts: the EngineGroup part of the pipeline's statuses. Each EngineGroup manifest gets
// Accepted (False with the reason and field when its spec is invalid; hold.ts keeps its last valid
// version serving), the generation that verdict is about, and the VIPs the group serves. Each
// object whose group choice could not be honoured gets the portico.dev/EngineGroup condition; a
// Gateway whose group does not exist is also not Programmed, since no engine will serve it.
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { Condition } from "../k8s/types.ts";
import type { GroupResolution } from "../translate/engine-group.ts";
import { keyOf } from "../translate/status.ts";
import type { ObjectStatus } from "../translate/types.ts";
import type { InvalidObject } from "./hold.ts";

/** ENGINE_GROUP_CONDITION is the condition an object carries when its EngineGroup choice is not honoured. */
export const ENGINE_GROUP_CONDITION = "portico.dev/EngineGroup";

/** refusedGroups names the manifests with no valid version to serve (invalid and nothing held). */
export function refusedGroups(invalid: readonly InvalidObject[]): Set<string> {
  return new Set(invalid.filter((o) => o.kind === "EngineGroup" && !o.held).map((o) => o.name));
}

/** applyGroups adds group problems to objects' statuses and a status per EngineGroup manifest. */
export function applyGroups(
  statuses: ObjectStatus[],
  set: ResourceSet,
  res: GroupResolution,
  invalid: readonly InvalidObject[],
  mode: { standalone: boolean } = { standalone: false },
): ObjectStatus[] {
  const byKey = new Map(statuses.map((s) => [keyOf(s), s]));
  for (const p of res.problems) {
    const s = byKey.get(p.object);
    if (!s) continue;
    const conditions = [...(s.status.conditions ?? [])];
    const generation = conditions[0]?.observedGeneration;
    const c: Condition = {
      type: ENGINE_GROUP_CONDITION,
      status: "False",
      reason: p.reason,
      message: p.message,
    };
    if (generation !== undefined) c.observedGeneration = generation;
    conditions.push(c);
    const fixed =
      s.kind === "Gateway" && p.reason !== "EngineGroupConflict"
        ? conditions.map((x) =>
            x.type === "Programmed" && x.status === "True"
              ? { ...x, status: "False" as const, reason: p.reason, message: p.message }
              : x,
          )
        : conditions;
    s.status = {
      ...s.status,
      conditions: fixed.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)),
    };
  }
  const out = [...statuses];
  for (const g of set.engineGroups) {
    const name = g.metadata.name;
    const bad = invalid.find((o) => o.kind === "EngineGroup" && o.name === name);
    const generation = bad ? bad.generation : g.metadata.generation;
    const serving = res.groups[name];
    const accepted: Condition = bad
      ? { type: "Accepted", status: "False", reason: bad.reason, message: bad.message }
      : {
          type: "Accepted",
          status: "True",
          reason: "Accepted",
          message:
            (serving ? `${serving.spec.haMode}, serving ${serving.vips.length} VIP(s)` : "") +
            // selector is in the schema for what comes next; setting it today changes nothing, so say so.
            (g.spec?.selector
              ? "; spec.selector is not read yet: objects pick a group by annotation, class parameters or VipPool"
              : "") +
            (mode.standalone ? standaloneNote(g.spec) : ""),
        };
    if (generation !== undefined) accepted.observedGeneration = generation;
    const status: ObjectStatus["status"] = { vips: serving?.vips ?? [], conditions: [accepted] };
    if (generation !== undefined) status.observedGeneration = generation;
    out.push({ kind: "EngineGroup", name, status });
  }
  return out;
}

/** WORKLOAD_FIELDS are the spec fields that describe the engines a controller in Kubernetes runs. */
const WORKLOAD_FIELDS = [
  "replicas",
  "autoscaling",
  "resources",
  "workers",
  "workload",
  "placement",
  "limits",
];

// standaloneNote names the workload fields a standalone controller cannot honour: it starts no
// engine, so each `portico engine` takes its size, workers and limits from its own flags.
function standaloneNote(spec: object | undefined): string {
  const set = WORKLOAD_FIELDS.filter((f) => (spec as Record<string, unknown> | undefined)?.[f] !== undefined);
  if (set.length === 0) return "";
  return `; ${set.map((f) => `spec.${f}`).join(", ")} not honoured standalone: nothing starts engines here, each \`portico engine --group NAME\` you start takes them from its own --workers, --max-connections and --max-connection-rate (or run the group in Kubernetes)`;
}
