// metallb-common.ts: what the MetalLB converters share — reading a MetalLB object's fields and
// reporting the ones that have no Portico equivalent.
import type { Report, Severity } from "./report.ts";
import { isObject, objectLabel, type InputObject } from "./workspace.ts";

type Json = Record<string, unknown>;

/** METALLB_GROUP is MetalLB's API group (v1beta1, v1beta2). */
export const METALLB_GROUP = "metallb.io";

/** isMetallb says whether o is a MetalLB object of kind (any version). */
export function isMetallb(o: InputObject, kind?: string): boolean {
  const api = o.obj.apiVersion;
  return typeof api === "string" && api.startsWith(`${METALLB_GROUP}/`) && (!kind || o.obj.kind === kind);
}

/** Src is one MetalLB object being converted: its spec, and a reporter that names it. */
export class Src {
  readonly o: InputObject;
  readonly spec: Json;
  readonly name: string;
  readonly namespace: string;
  readonly label: string;
  readonly #report: Report;
  /** #used are the spec fields the converter read; the rest are reported as not carried. */
  readonly #used = new Set<string>();

  constructor(o: InputObject, report: Report) {
    this.o = o;
    this.#report = report;
    this.spec = isObject(o.obj.spec) ? o.obj.spec : {};
    const meta = isObject(o.obj.metadata) ? o.obj.metadata : {};
    this.name = typeof meta.name === "string" ? meta.name : "";
    this.namespace = typeof meta.namespace === "string" ? meta.namespace : "";
    this.label = objectLabel(o.obj);
  }

  /** get reads spec.field and marks it handled. */
  get(field: string): unknown {
    this.#used.add(field);
    return this.spec[field];
  }

  /** note reports one finding about field (a spec field unless it starts with "metadata."). */
  note(severity: Severity, field: string, message: string): void {
    this.#report.add({
      severity,
      file: this.o.file,
      line: this.o.line,
      object: this.label,
      field: field.startsWith("metadata.") || field === "" ? field : `spec.${field}`,
      message,
    });
  }

  /** lost reports field as not carried, when it is set, with why. */
  lost(field: string, why: string): void {
    const v = this.get(field);
    if (v === undefined || v === null || v === false || v === "" || (Array.isArray(v) && v.length === 0))
      return;
    this.note("lost", field, `${JSON.stringify(v)} not carried: ${why}`);
  }

  /** rest reports every spec field nothing read, so a field this converter does not know is never dropped silently. */
  rest(): void {
    for (const k of Object.keys(this.spec).sort())
      if (!this.#used.has(k))
        this.note(
          "lost",
          k,
          `${JSON.stringify(this.spec[k])} not carried: a field portico migrate does not know`,
        );
  }

  /** labels are the object's metadata.labels. */
  labels(): Record<string, string> {
    const meta = isObject(this.o.obj.metadata) ? this.o.obj.metadata : {};
    return isObject(meta.labels) ? (meta.labels as Record<string, string>) : {};
  }
}

/** strings reads a list of strings (anything else is dropped by the caller's check). */
export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** seconds reads a Go duration ("90s", "1m30s", "3m") as whole seconds; undefined when it is not one. */
export function seconds(v: unknown): number | undefined {
  if (typeof v !== "string") return undefined;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    const unit = { h: 3600, m: 60, s: 1, ms: 0.001 }[m[2] as "h" | "m" | "s" | "ms"];
    total += Number(m[1]) * unit;
    matched = re.lastIndex;
  }
  return matched === v.length && v !== "" ? total : undefined;
}
