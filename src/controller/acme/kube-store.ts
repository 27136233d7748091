// kube-store.ts: where the built-in ACME issuer keeps what it obtains in Kubernetes mode. Each
// certificate is a kubernetes.io/tls Secret under the name the Ingress or Gateway listener gave
// (in that object's namespace), labelled as Portico's, with annotations for the issuer, names and
// validity, so a restarted or newly elected controller reads it back and never orders a valid
// certificate again. Account keys live in one Opaque Secret in the controller's namespace.
import { X509Certificate } from "node:crypto";
import type { ResourceSet } from "../../k8s/resource-set.ts";
import type { Secret } from "../../k8s/types.ts";
import { KubeApiError, type KubeClient } from "../../sources/kube/client.ts";
import type { Logger } from "../log.ts";
import type { AcmeStore, CertSink, HeldCert, StoredCert } from "./manager.ts";
import type { CertRequest } from "./requests.ts";

/** MANAGED_LABEL marks a TLS Secret the built-in issuer owns (value "certificate-issuer"). */
export const MANAGED_LABEL = "portico.dev/managed-by";
/** ANNOTATIONS are what a managed Secret says about its certificate; RENEW is the user's trigger. */
export const ANNOTATIONS = {
  issuer: "portico.dev/certificate-issuer",
  names: "portico.dev/certificate-names",
  notBefore: "portico.dev/certificate-not-before",
  notAfter: "portico.dev/certificate-not-after",
  owner: "portico.dev/certificate-owner",
  /** renew: set to any new value (e.g. a timestamp) to have the certificate ordered again now. */
  renew: "portico.dev/renew",
  /** renewedFor: the renew value the stored certificate answers (set by Portico). */
  renewedFor: "portico.dev/renewed-for",
} as const;
/** ACCOUNTS_SECRET holds the ACME account keys, one key per issuer, in the controller's namespace. */
export const ACCOUNTS_SECRET = "portico-acme-accounts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, "base64").toString());
const isNotFound = (e: unknown) => e instanceof KubeApiError && e.status === 404;

/** SecretSink stores certificates as TLS Secrets through the API (a CertSink). */
export class SecretSink implements CertSink {
  readonly #client: KubeClient;
  /** #parsed caches a Secret's certificate by namespace/name@resourceVersion. */
  #parsed = new Map<string, HeldCert | undefined>();

  /** constructor takes the API client. */
  constructor(client: KubeClient) {
    this.#client = client;
  }

  /** read lists the managed Secrets' certificates and the other TLS Secrets (never overwritten). */
  read(set: ResourceSet): { held: Map<string, HeldCert>; foreign: Set<string> } {
    const held = new Map<string, HeldCert>();
    const foreign = new Set<string>();
    const seen = new Map<string, HeldCert | undefined>();
    for (const s of set.secrets) {
      const id = `${s.metadata.namespace ?? "default"}/${s.metadata.name}`;
      if (s.metadata.labels?.[MANAGED_LABEL] !== "certificate-issuer") {
        foreign.add(id);
        continue;
      }
      const cacheKey = `${id}@${s.metadata.resourceVersion ?? ""}`;
      const c = this.#parsed.has(cacheKey) ? this.#parsed.get(cacheKey) : parseSecret(s);
      seen.set(cacheKey, c);
      if (c) held.set(id, c);
    }
    this.#parsed = seen;
    return { held, foreign };
  }

  /** save creates or replaces the request's Secret; a Secret that is not Portico's is refused. */
  async save(r: CertRequest, cert: StoredCert, renewedFor?: string): Promise<void> {
    const [ns, name] = r.secret.split("/") as [string, string];
    const path = `/api/v1/namespaces/${ns}/secrets`;
    let cur: Secret | undefined;
    try {
      cur = await this.#client.request<Secret>("GET", `${path}/${encodeURIComponent(name)}`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (cur && cur.metadata.labels?.[MANAGED_LABEL] !== "certificate-issuer")
      throw new Error(`Secret ${r.secret} exists and is not managed by Portico; not overwritten`);
    const annotations: Record<string, string> = {
      ...(cur?.metadata.annotations ?? {}),
      [ANNOTATIONS.issuer]: cert.issuer,
      [ANNOTATIONS.names]: cert.hosts.join(","),
      [ANNOTATIONS.notBefore]: new Date(cert.notBefore).toISOString(),
      [ANNOTATIONS.notAfter]: new Date(cert.notAfter).toISOString(),
      [ANNOTATIONS.owner]: r.owner,
    };
    if (renewedFor !== undefined) annotations[ANNOTATIONS.renewedFor] = renewedFor;
    const body = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name,
        namespace: ns,
        labels: { ...(cur?.metadata.labels ?? {}), [MANAGED_LABEL]: "certificate-issuer" },
        annotations,
        ...(cur?.metadata.resourceVersion ? { resourceVersion: cur.metadata.resourceVersion } : {}),
      },
      type: "kubernetes.io/tls",
      data: { "tls.crt": b64(cert.certPem), "tls.key": b64(cert.keyPem) },
    };
    if (cur) await this.#client.request("PUT", `${path}/${encodeURIComponent(name)}`, body);
    else await this.#client.request("POST", path, body);
  }
}

/** parseSecret reads a managed Secret's certificate; undefined when it holds none that parses. */
function parseSecret(s: Secret): HeldCert | undefined {
  const a = s.metadata.annotations ?? {};
  const certPem = unb64(s.data?.["tls.crt"]);
  const keyPem = unb64(s.data?.["tls.key"]);
  const issuer = a[ANNOTATIONS.issuer];
  if (!certPem || !keyPem || !issuer) return undefined;
  try {
    const x = new X509Certificate(certPem);
    return {
      certPem,
      keyPem,
      issuer,
      hosts: (a[ANNOTATIONS.names] ?? "").split(",").filter((h) => h !== ""),
      notBefore: Date.parse(x.validFrom),
      notAfter: Date.parse(x.validTo),
      ...(a[ANNOTATIONS.renew] ? { renewRequested: a[ANNOTATIONS.renew] } : {}),
      ...(a[ANNOTATIONS.renewedFor] ? { renewedFor: a[ANNOTATIONS.renewedFor] } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * SecretAccountStore is the AcmeStore of Kubernetes mode: the account keys in the Opaque Secret
 * portico-acme-accounts (key "account.ISSUER"), read once when this replica starts leading and
 * written through on every change, so the next leader uses the same ACME accounts.
 */
export class SecretAccountStore implements AcmeStore {
  readonly #client: KubeClient;
  readonly #ns: string;
  readonly #log: Logger;
  #rows: Record<string, string> = {};
  #exists = false;
  #chain = Promise.resolve();

  private constructor(client: KubeClient, ns: string, log: Logger) {
    this.#client = client;
    this.#ns = ns;
    this.#log = log;
  }

  /** open reads the accounts Secret (absent: no account yet); an API failure is logged, not fatal. */
  static async open(client: KubeClient, ns: string, log: Logger): Promise<SecretAccountStore> {
    const st = new SecretAccountStore(client, ns, log);
    try {
      const s = await client.request<Secret>("GET", `/api/v1/namespaces/${ns}/secrets/${ACCOUNTS_SECRET}`);
      st.#exists = true;
      for (const [k, v] of Object.entries(s.data ?? {}))
        if (k.startsWith("account.")) st.#rows[`account/${k.slice("account.".length)}`] = unb64(v)!;
    } catch (e) {
      if (!isNotFound(e))
        log("warn", "acme: account keys not read; a new account is registered if needed", {
          secret: `${ns}/${ACCOUNTS_SECRET}`,
          error: String(e),
        });
    }
    return st;
  }

  /** loadAcme is the account rows in memory. */
  loadAcme(): Record<string, string> {
    return { ...this.#rows };
  }

  /** saveAcme updates the row and writes the Secret (serialised); resolves once written or logged. */
  saveAcme(key: string, value: string | undefined): Promise<void> {
    if (value === undefined) delete this.#rows[key];
    else this.#rows[key] = value;
    this.#chain = this.#chain.then(() =>
      this.#write().catch((e: unknown) =>
        this.#log("warn", "acme: account keys not stored", {
          secret: `${this.#ns}/${ACCOUNTS_SECRET}`,
          error: String(e),
        }),
      ),
    );
    return this.#chain;
  }

  async #write(): Promise<void> {
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.#rows))
      if (k.startsWith("account/")) data[`account.${k.slice("account/".length)}`] = b64(v);
    const path = `/api/v1/namespaces/${this.#ns}/secrets`;
    const body = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: ACCOUNTS_SECRET,
        namespace: this.#ns,
        labels: { [MANAGED_LABEL]: "certificate-issuer" },
      },
      type: "Opaque",
      data,
    };
    if (this.#exists) {
      await this.#client.request("PUT", `${path}/${ACCOUNTS_SECRET}`, body);
      return;
    }
    try {
      await this.#client.request("POST", path, body);
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 409)) throw e;
      await this.#client.request("PUT", `${path}/${ACCOUNTS_SECRET}`, body);
    }
    this.#exists = true;
  }
}
