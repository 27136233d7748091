// view.ts: what the admission webhook judges against, on every replica. Each replica watches the
// kinds the tenant rules read (not Secrets, EndpointSlices or ConfigMaps, the bulk of a cluster)
// with its own informers, leader or standby, so whichever replica the API server's call lands on
// answers from a current view; the leader adds what its last build admitted (the incumbents a
// newcomer cannot displace). A standby without that memory settles quotas oldest first, which
// differs from the leader only for an incumbent edited to ask for more (the controller decides).
import type { KubeClient } from "../../sources/kube/client.ts";
import { RESOURCES } from "../../sources/kube/kinds.ts";
import { KubeSource } from "../../sources/kube/source.ts";
import type { TenantMemory } from "../../translate/types.ts";
import type { Logger } from "../log.ts";
import type { AdmissionView } from "./server.ts";

/** ADMISSION_KINDS are the kinds tenant-claims.ts, tenancy.ts and tenant-admit.ts read (VipPool: a VIP owner without a group runs where its pool says). */
export const ADMISSION_KINDS: ReadonlySet<string> = new Set([
  "Service",
  "Ingress",
  "IngressClass",
  "Namespace",
  "Tenant",
  "EngineGroup",
  "VipPool",
  "GatewayClass",
  "Gateway",
  "ListenerSet",
  "HTTPRoute",
  "GRPCRoute",
  "TLSRoute",
  "TCPRoute",
  "UDPRoute",
]);

/** RETRY_MS bounds the wait between listings after a failure (RBAC or a CRD fixed later is picked up). */
const RETRY_MS = { first: 1_000, max: 60_000 };

/** AdmissionWatch keeps one replica's view for the webhook. */
export class AdmissionWatch {
  readonly #make: () => Pick<KubeSource, "start" | "snapshot" | "close">;
  #source: Pick<KubeSource, "start" | "snapshot" | "close">;
  readonly #memory: () => TenantMemory | undefined;
  readonly #log: Logger;
  #synced = false;
  #error: string | undefined;
  #retryMs = RETRY_MS.first;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** constructor builds the informers; memory is the leader's last build's admissions (undefined elsewhere); make replaces the kube source (tests). */
  constructor(
    client: KubeClient,
    namespaces: readonly string[],
    log: Logger,
    memory: () => TenantMemory | undefined,
    make?: () => Pick<KubeSource, "start" | "snapshot" | "close">,
  ) {
    this.#memory = memory;
    this.#log = log;
    this.#make =
      make ??
      (() =>
        new KubeSource({
          client,
          namespaces,
          log,
          onChange: () => undefined,
          resources: RESOURCES.filter((r) => ADMISSION_KINDS.has(r.kind)),
        }));
    this.#source = this.#make();
  }

  /** start lists everything in the background; view answers once it has. A failed listing is kept for readiness and retried with backoff, on fresh informers. */
  start(): void {
    this.#source.start().then(
      () => {
        this.#synced = true;
        this.#error = undefined;
      },
      (e: unknown) => {
        if (this.#closed) return;
        this.#error = e instanceof Error ? e.message : String(e);
        this.#log("error", "admission webhook: listing failed; retrying", {
          error: this.#error,
          retryMs: this.#retryMs,
        });
        this.#source.close();
        this.#timer = setTimeout(() => {
          this.#source = this.#make();
          this.start();
        }, this.#retryMs);
        this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MS.max);
      },
    );
  }

  /** synced tells whether the first listing is done (the webhook answers from then on). */
  synced(): boolean {
    return this.#synced;
  }

  /** error is the last listing's failure while none has succeeded, else undefined. */
  error(): string | undefined {
    return this.#synced ? undefined : this.#error;
  }

  /** view is the informers' objects now (not the last debounced set: an object created a moment ago counts), undefined until listed. */
  view(): AdmissionView | undefined {
    if (!this.#synced) return undefined;
    const memory = this.#memory();
    return { set: this.#source.snapshot(), ...(memory ? { memory } : {}) };
  }

  /** close stops the informers and any retry. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#source.close();
  }
}
