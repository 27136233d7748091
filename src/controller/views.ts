// views.ts: the documents `portico translate` and `portico validate` print, computed from a
// ResourceSet and the pipeline's output. The offline CLI and the admin API of a running Portico
// both call these, so the two answer alike.
import type { ResourceSet, SourceError } from "../k8s/resource-set.ts";
import type { ObjectStatus } from "../translate/types.ts";
import type { PipelineOutput } from "./pipeline.ts";
import type { VipAnnouncementView } from "./fleet/announce-view.ts";
import { redactGroups, redactSnapshot } from "./redact.ts";
import { INPUT_VALID, invalidKey } from "./hold.ts";
import { keyOf } from "../translate/status.ts";

/** Inspection is the input and pipeline output of one snapshot, and the Ingress ports it used:
 * what every answer of `get`, `explain`, `translate` and `validate` is computed from. */
export interface Inspection {
  set: ResourceSet;
  out: PipelineOutput;
  ports: { http: number; https: number };
  /** live, from a running Portico only, are the statuses with what only it knows: whether each
   * listener is bound (Programmed). `get` shows them; offline the column says "-". */
  live?: ObjectStatus[];
  /** announcements, from a running Portico only, say who announces each announced VIP. */
  announcements?: VipAnnouncementView[];
}

/** translateDoc is what `portico translate` prints: the snapshot (private keys redacted), every
 * VIP allocation with each pool's verdict, pool counts, statuses, input errors and notices. */
export function translateDoc(set: ResourceSet, out: PipelineOutput) {
  return {
    snapshot: redactSnapshot(out.snapshot),
    allocations: out.allocations.results,
    pools: out.allocations.poolStatus,
    statuses: out.statuses,
    errors: set.errors,
    invalid: out.invalid,
    notices: out.translate.notices,
    // What each EngineGroup serves, so `portico translate` shows which engines get which VIPs.
    groups: redactGroups(out.groups),
  };
}

/** ValidateReport is what `portico validate` prints: errors fail, warnings and notices do not. */
export interface ValidateReport {
  errors: readonly SourceError[];
  notices: readonly string[];
  /** warnings are conditions that are False, with the file:line of their object. */
  warnings: string[];
  /** objects counts the objects read. */
  objects: number;
}

/** validateReport lists the input errors, the source's notices and every False condition. */
export function validateReport(
  set: ResourceSet,
  out: Pick<PipelineOutput, "statuses" | "invalid" | "translate">,
): ValidateReport {
  return {
    // An object that fails its check (hold.ts) is an error like a parse error, at its file:line.
    errors: [
      ...set.errors,
      ...out.invalid.map((o) => ({ file: o.file, line: o.line, object: invalidKey(o), message: o.message })),
    ],
    // The translator's notices too: an annotation it could not honour is reported there.
    notices: [...(set.notices ?? []), ...out.translate.notices],
    warnings: problems(set, out.statuses, new Set(out.invalid.map((o) => `${invalidKey(o)}\n${o.message}`))),
    objects:
      set.services.length +
      set.ingresses.length +
      set.vipPools.length +
      set.engineGroups.length +
      set.other.length,
  };
}

/** problems lists conditions that are False, with the file:line of the object they belong to. */
function problems(
  set: ResourceSet,
  statuses: readonly ObjectStatus[],
  errors: ReadonlySet<string>,
): string[] {
  const lines: string[] = [];
  for (const s of statuses) {
    for (const c of s.status.conditions ?? []) {
      // An invalid object is already listed as an error; its condition would only repeat it.
      if (c.status !== "False" || c.type === INPUT_VALID) continue;
      const key = keyOf(s);
      // An EngineGroup's Accepted=False says what its error already says.
      if (errors.has(`${key}\n${c.message ?? ""}`)) continue;
      const o = set.origins.get(key);
      const where = o ? `${o.file}:${o.line}` : "";
      lines.push(`${where ? where + ": " : ""}${key}: ${c.type}=False ${c.reason ?? ""}: ${c.message ?? ""}`);
    }
  }
  return lines;
}
