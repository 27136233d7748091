// kube-acme.ts: the built-in ACME issuer in `portico controller`. It runs on the leader only (one
// order per name at a time, cluster-wide), stores certificates as TLS Secrets and account keys in
// the Secret portico-acme-accounts (acme/kube-store.ts), hands the engines the challenge answers
// through the snapshot as `portico run` does, and turns what it does into Events on the asking
// Ingress or Gateway and on the CertificateIssuer.
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { AnyObject } from "../k8s/types.ts";
import type { EngineSnapshot } from "../model/ir.ts";
import type { KubeClient } from "../sources/kube/client.ts";
import type { ObjectStatus } from "../translate/types.ts";
import type { AcmeTxt } from "../translate/acme-txt.ts";
import type { DnsView } from "./acme/dns01.ts";
import { AcmeManager, type AcmeEvent } from "./acme/manager.ts";
import { SecretAccountStore, SecretSink } from "./acme/kube-store.ts";
import type { EventRecorder, EventSpec } from "./kube-events.ts";
import type { Logger } from "./log.ts";
import { withSecrets } from "./standalone.ts";

/** KubeAcmeOptions wire the issuer into the cluster runner. */
export interface KubeAcmeOptions {
  client: KubeClient;
  /** namespace holds the account keys Secret (the controller's namespace). */
  namespace: string;
  log: Logger;
  events: EventRecorder;
  /** refresh re-runs the current set through the pipeline; resolves once the engines have it. */
  refresh: () => Promise<void>;
  /** live reads the informer's copy of an object (its uid for Events). */
  live: (kind: string, namespace: string | undefined, name: string) => AnyObject | undefined;
  /** dns lets DNS-01 wait until the engines answer its records (the served snapshot, bind state). */
  dns: DnsView;
}

const API_VERSIONS: Record<string, string> = {
  Ingress: "networking.k8s.io/v1",
  Gateway: "gateway.networking.k8s.io/v1",
};

/** KubeAcme owns one term's AcmeManager: started when this replica leads, closed when it loses. */
export class KubeAcme {
  readonly #o: KubeAcmeOptions;
  #manager: AcmeManager | undefined;
  #term = 0;
  #events = Promise.resolve();

  /** constructor takes the wiring; nothing runs before lead. */
  constructor(o: KubeAcmeOptions) {
    this.#o = o;
  }

  /** lead reads the account keys and starts the issuer; the next set then orders what is due. */
  async lead(): Promise<void> {
    const term = ++this.#term;
    const store = await SecretAccountStore.open(this.#o.client, this.#o.namespace, this.#o.log);
    if (term !== this.#term) return;
    this.#manager = new AcmeManager({
      store,
      log: this.#o.log,
      refresh: this.#o.refresh,
      sink: new SecretSink(this.#o.client),
      onEvent: (e) => this.#record(e),
      dns: this.#o.dns,
    });
  }

  /** dnsChallenges are the pending DNS-01 records the next snapshot publishes (none when not leading). */
  dnsChallenges(): AcmeTxt[] {
    return this.#manager?.dnsChallenges() ?? [];
  }

  /** lose stops ordering (an order in flight finishes and stores its certificate). */
  lose(): void {
    this.#term++;
    this.#manager?.close();
    this.#manager = undefined;
  }

  /** running tells whether the issuer has started this term. */
  running(): boolean {
    return this.#manager !== undefined;
  }

  /** prepare syncs the issuer with set and returns set with the certificates it holds or awaits. */
  prepare(set: ResourceSet): ResourceSet {
    const m = this.#manager;
    if (!m) return set;
    m.sync(set);
    return withSecrets(set, m.secrets());
  }

  /** decorate adds the pending challenge answers to snapshot and the issuers' statuses to statuses. */
  decorate(snapshot: EngineSnapshot, statuses: ObjectStatus[]): void {
    const m = this.#manager;
    if (!m) return;
    const acme = m.challenges();
    if (acme) snapshot.acme = acme;
    statuses.push(...m.statuses());
  }

  /** renew orders the certificate in secret ("ns/name") now; false when nothing asks for it. */
  renew(secret: string): boolean {
    return this.#manager?.renew(secret) ?? false;
  }

  /** flush resolves once the Events recorded so far are sent (tests). */
  flush(): Promise<void> {
    return this.#events;
  }

  #record(e: AcmeEvent): void {
    const out: EventSpec[] = [];
    const [kind = "", namespace = "", name = ""] = e.owner.split("/");
    const apiVersion = API_VERSIONS[kind];
    if (apiVersion) {
      const uid = this.#o.live(kind, namespace, name)?.metadata.uid;
      out.push(spec({ apiVersion, kind, namespace, name, ...(uid ? { uid } : {}) }, e));
    }
    if (e.issuer) {
      const uid = this.#o.live("CertificateIssuer", undefined, e.issuer)?.metadata.uid;
      out.push(
        spec(
          {
            apiVersion: "portico.dev/v1alpha1",
            kind: "CertificateIssuer",
            name: e.issuer,
            ...(uid ? { uid } : {}),
          },
          { ...e, message: `${e.owner}: ${e.message}` },
        ),
      );
    }
    this.#events = this.#events.then(async () => {
      for (const x of out) await this.#o.events.record(x);
    });
  }
}

// spec is the Event for e about regarding; the series keeps different owners' notes apart.
function spec(regarding: EventSpec["regarding"], e: AcmeEvent): EventSpec {
  return {
    regarding,
    type: e.type,
    reason: e.reason,
    action: "IssueCertificate",
    note: e.message,
    series: e.owner,
  };
}
