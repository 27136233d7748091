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

/** AdmissionWatch keeps one replica's view for the webhook. */
export class AdmissionWatch {
  readonly #source: KubeSource;
  readonly #memory: () => TenantMemory | undefined;
  readonly #log: Logger;
  #synced = false;

  /** constructor builds the informers; memory is the leader's last build's admissions (undefined elsewhere). */
  constructor(
    client: KubeClient,
    namespaces: readonly string[],
    log: Logger,
    memory: () => TenantMemory | undefined,
  ) {
    this.#memory = memory;
    this.#log = log;
    this.#source = new KubeSource({
      client,
      namespaces,
      log,
      onChange: () => undefined,
      resources: RESOURCES.filter((r) => ADMISSION_KINDS.has(r.kind)),
    });
  }

  /** start lists everything in the background; view answers once it has. */
  start(): void {
    this.#source.start().then(
      () => {
        this.#synced = true;
      },
      (e: unknown) => this.#log("error", "admission webhook: listing failed", { error: String(e) }),
    );
  }

  /** synced tells whether the first listing is done (the webhook answers from then on). */
  synced(): boolean {
    return this.#synced;
  }

  /** view is the informers' objects now (not the last debounced set: an object created a moment ago counts), undefined until listed. */
  view(): AdmissionView | undefined {
    if (!this.#synced) return undefined;
    const memory = this.#memory();
    return { set: this.#source.snapshot(), ...(memory ? { memory } : {}) };
  }

  /** close stops the informers. */
  close(): void {
    this.#source.close();
  }
}
