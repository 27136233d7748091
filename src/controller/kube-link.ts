// kube-link.ts: the engine link in a cluster. Every controller replica must present the same CA and
// accept the same token, so the credentials live in the Secret portico-engine-link in the engine
// namespace (keys ca.crt, tls.crt, tls.key, token; engine pods mount only ca.crt and token). The
// replica that becomes leader reads the Secret, creates it when missing (a create that conflicts
// means another replica made it first: theirs is read), checks it, and only then opens the engine
// port with the term as the hub's epoch. It closes the port the moment it loses the Lease, so the
// engines behind the Service portico-controller reach the leader only: a standby does not listen.
import { KubeApiError, type KubeClient } from "../sources/kube/client.ts";
import {
  createCredentials,
  CredentialError,
  parseSecretData,
  secretData,
  type SecretCredentials,
} from "../link/credentials.ts";
import type { Hub } from "./fleet/hub.ts";
import type { EventRecorder } from "./kube-events.ts";
import { LINK_SECRET } from "./kube-engine-workload.ts";
import type { Logger } from "./log.ts";

/** RETRY_MS is how soon a leader that could not open the engine port tries again. */
export const RETRY_MS = 10_000;

/** KubeLinkOptions wire the link of one controller replica. */
export interface KubeLinkOptions {
  client: KubeClient;
  /** namespace holds the Secret (the engine namespace). */
  namespace: string;
  hub: Hub;
  listen: { host: string; port: number };
  log: Logger;
  events: EventRecorder;
}

/**
 * loadLinkSecret reads the Secret, creating it when missing; resolves with its credentials and
 * whether this call made it. A damaged Secret is a CredentialError saying what to delete.
 */
export async function loadLinkSecret(
  client: KubeClient,
  namespace: string,
): Promise<{ creds: SecretCredentials; created: boolean }> {
  const path = `/api/v1/namespaces/${namespace}/secrets`;
  const where = `${namespace}/${LINK_SECRET}`;
  const read = async () => {
    try {
      const s = await client.request<{ data?: Record<string, string> }>("GET", `${path}/${LINK_SECRET}`);
      return parseSecretData(s.data, where);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  };
  const found = await read();
  if (found) return { creds: found, created: false };
  const creds = createCredentials();
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(secretData(creds))) data[k] = Buffer.from(v).toString("base64");
  try {
    await client.request("POST", path, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: LINK_SECRET, namespace, labels: { "app.kubernetes.io/name": "portico" } },
      type: "Opaque",
      data,
    });
    return { creds, created: true };
  } catch (e) {
    if (!(e instanceof KubeApiError && e.status === 409)) throw e;
  }
  // Another replica created it between our read and our create: everyone uses theirs.
  const theirs = await read();
  if (!theirs) throw new Error(`the Secret ${where} was created by someone else and is gone again`);
  return { creds: theirs, created: false };
}

/** KubeLink opens the engine port while this replica leads and closes it when it stops leading. */
export class KubeLink {
  readonly #o: KubeLinkOptions;
  #creds: SecretCredentials | undefined;
  #term: number | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** #chain runs lead and lose one after the other, so a quick lose-lead never leaves two listens. */
  #chain: Promise<void> = Promise.resolve();

  /** constructor takes the options; nothing is contacted before lead. */
  constructor(o: KubeLinkOptions) {
    this.#o = o;
  }

  /** lead opens the engine port for term (the hub's epoch); a failure is logged and retried. */
  lead(term: number): Promise<void> {
    this.#term = term;
    return this.#serial(() => this.#open(term));
  }

  /** lose closes the engine port (every engine's link with it); engines dial the next leader. */
  lose(): Promise<void> {
    this.#term = undefined;
    clearTimeout(this.#retry);
    // At once, not behind an open waiting on a slow API: the replica's VIPs are given up after
    // this. An open that binds later anyway is closed again when it ends.
    void this.#serial(() => this.#o.hub.close());
    return this.#o.hub.close();
  }

  /** secretData is the Secret's data as this leader uses it (undefined before it was read). */
  secretData(): Record<string, string> | undefined {
    return this.#creds ? secretData(this.#creds) : undefined;
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(fn).catch((e) => this.#o.log("warn", "engine link", { error: String(e) }));
    return this.#chain;
  }

  async #open(term: number): Promise<void> {
    if (this.#term !== term || this.#o.hub.listening()) return;
    const o = this.#o;
    const where = `${o.namespace}/${LINK_SECRET}`;
    try {
      const { creds, created } = await loadLinkSecret(o.client, o.namespace);
      // The Lease may have gone while the API answered: a standby must not listen.
      if (this.#term !== term) return;
      if (created) o.log("info", "engine link Secret created", { secret: where });
      this.#creds = creds;
      o.hub.configure({ certPem: creds.certPem, keyPem: creds.keyPem, token: creds.token, epoch: term });
      const a = await o.hub.listen(o.listen.host, o.listen.port);
      o.events.forget("Secret", o.namespace, LINK_SECRET);
      o.log("info", "engine port listening", {
        address: `${a.address}:${a.port}`,
        epoch: term,
        secret: where,
      });
    } catch (e) {
      // Closed meanwhile (the Lease went): nothing to report or retry.
      if (this.#term !== term) return;
      const damaged = e instanceof CredentialError;
      const error = damaged
        ? (e as Error).message
        : `the engine port ${o.listen.host}:${o.listen.port} did not open: ${String(e)}`;
      o.log("error", "engine link not available; engines get no snapshots until it is", {
        error,
        retryInMs: RETRY_MS,
      });
      await o.events
        .record({
          regarding: { apiVersion: "v1", kind: "Secret", namespace: o.namespace, name: LINK_SECRET },
          type: "Warning",
          reason: "EngineLinkFailed",
          action: "OpenEnginePort",
          note: error,
        })
        .catch(() => undefined);
      this.#retry = setTimeout(() => void this.#serial(() => this.#open(term)), RETRY_MS).unref();
    }
  }
}
