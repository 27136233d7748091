// gateway-conditions.ts: Gateway API status is richer than the portico.dev/* conditions StatusBook
// folds (per-listener and per-parent lists, spec-defined types and reasons), so the Gateway passes
// build those conditions themselves with these helpers and hand the whole status to StatusBook.field.
// No clock is read: lastTransitionTime is left to the status writer.
import type { Condition } from "../k8s/types.ts";

/** CONTROLLER_NAME is the GatewayClass controllerName Portico answers to. */
export const CONTROLLER_NAME = "portico.dev/gateway-controller";
/** GATEWAY_GROUP is the Gateway API's API group. */
export const GATEWAY_GROUP = "gateway.networking.k8s.io";

/** Cond is a condition's value before it is stamped with its type and generation. */
export interface Cond {
  status: "True" | "False";
  reason: string;
  message: string;
}

/** yes builds a True condition value. */
export function yes(reason: string, message = ""): Cond {
  return { status: "True", reason, message };
}

/** no builds a False condition value. */
export function no(reason: string, message: string): Cond {
  return { status: "False", reason, message };
}

/** conditions renders named values as metav1.Conditions sorted by type, with observedGeneration. */
export function conditions(values: Record<string, Cond>, generation: number | undefined): Condition[] {
  return Object.keys(values)
    .sort()
    .map((type) => {
      const v = values[type]!;
      const c: Condition = { type, status: v.status, reason: v.reason, message: v.message };
      if (generation !== undefined) c.observedGeneration = generation;
      return c;
    });
}

/** Problems collects the failures of one condition; the first reason wins, the messages join. */
export class Problems {
  readonly #list: { reason: string; message: string }[] = [];

  /** add records a failure unless the same one is already there. */
  add(reason: string, message: string): void {
    if (!this.#list.some((p) => p.reason === reason && p.message === message))
      this.#list.push({ reason, message });
  }

  /** empty tells whether nothing failed. */
  get empty(): boolean {
    return this.#list.length === 0;
  }

  /** cond renders the condition: okReason when nothing failed, else False with the first reason. */
  cond(okReason: string, okMessage = ""): Cond {
    if (this.#list.length === 0) return yes(okReason, okMessage);
    return no(this.#list[0]!.reason, this.#list.map((p) => p.message).join("; "));
  }
}

/** generationOf reads metadata.generation for observedGeneration. */
export function generationOf(obj: { metadata: { generation?: number } }): number | undefined {
  return obj.metadata.generation;
}
