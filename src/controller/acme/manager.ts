// manager.ts: the built-in ACME issuer in the controller (docs/certificates.md). It reads the
// CertificateIssuers and the certificate requests of each ResourceSet, runs one order at a time
// (so one name set never has two orders), keeps account keys and certificates in its store, feeds
// issued certificates to translate as kubernetes.io/tls Secrets, and hands the engines the pending
// challenge answers. Renewal at two thirds of the lifetime with jitter; failures back off.
import { X509Certificate } from "node:crypto";
import { defaultCertificate } from "../../engine/tls/default-cert.ts";
import type { AcmeIssuerSpec, CertificateIssuer } from "../../k8s/certificate-issuer.ts";
import type { ResourceSet } from "../../k8s/resource-set.ts";
import type { Condition, Secret } from "../../k8s/types.ts";
import type { AcmeChallenges } from "../../model/ir.ts";
import type { ObjectStatus } from "../../translate/types.ts";
import type { Logger } from "../log.ts";
import {
  acmeTxtPlace,
  ACME_TXT_TTL,
  challengeName,
  servedZones,
  type AcmeTxt,
} from "../../translate/acme-txt.ts";
import { awaitTxtServed, type DnsView } from "./dns01.ts";
import { newAccountKey, order, type ChallengeAnswers, type Issued, type OrderInput } from "./order.ts";
import { collectRequests, type CertRequest } from "./requests.ts";
import { backoffMs, renewAt } from "./schedule.ts";

/** AcmeStore keeps account keys and certificates (standalone: the state database's acme table). */
export interface AcmeStore {
  loadAcme(): Record<string, string>;
  /** saveAcme may return a promise (Kubernetes: a Secret write); the manager awaits it. */
  saveAcme(key: string, value: string | undefined): void | Promise<void>;
}

/** StoredCert is an issued certificate as kept. */
export interface StoredCert extends Issued {
  issuer: string;
  hosts: string[];
  notBefore: number;
  notAfter: number;
}

/** HeldCert is a certificate a CertSink found, with the user's renewal request on it. */
export interface HeldCert extends StoredCert {
  /** renewRequested is the value of the renew annotation, if set. */
  renewRequested?: string;
  /** renewedFor is the renew annotation value the stored certificate was issued for. */
  renewedFor?: string;
}

/**
 * CertSink keeps issued certificates outside the AcmeStore (Kubernetes: TLS Secrets in the asking
 * object's namespace, kube-store.ts). Without one, certificates go to the AcmeStore.
 */
export interface CertSink {
  /** read lists the certificates set holds ("ns/name") and the Secrets Portico must not overwrite. */
  read(set: ResourceSet): { held: Map<string, HeldCert>; foreign: Set<string> };
  /** save stores cert for request (renewedFor: the renewal request it answers); rejects on failure. */
  save(request: CertRequest, cert: StoredCert, renewedFor?: string): Promise<void>;
}

/** AcmeEvent is something the issuer did that users see as an Event (Kubernetes) on owner and issuer. */
export interface AcmeEvent {
  /** owner is the asking object ("Ingress/ns/name", "Gateway/ns/name"). */
  owner: string;
  /** issuer is the CertificateIssuer's name ("" when the ask names none that exists). */
  issuer: string;
  type: "Normal" | "Warning";
  /** reason: CertificateIssued, CertificateRenewed, CertificateOrderFailed, CertificateRequestNotHonoured. */
  reason: string;
  /** message names the Secret and hosts, and for a failure the CA's problem; never key material. */
  message: string;
}

/** CertState is what the issuer reports of one requested certificate. */
interface CertState {
  request: CertRequest;
  state: "Pending" | "Issued" | "Failed";
  message: string;
  failures: number;
  timer?: ReturnType<typeof setTimeout>;
  /** due is when the next order runs (renewal or retry), ms. */
  due?: number;
}

/** AcmeManagerOptions wire the manager into its controller. */
export interface AcmeManagerOptions {
  store: AcmeStore;
  log: Logger;
  /** refresh rebuilds and applies the snapshot (issued Secrets, challenges); resolves when applied. */
  refresh: () => Promise<void>;
  /** dns is the controller's served view; DNS-01 waits on it until the engines answer (dns01.ts). Absent: no DNS-01. */
  dns?: DnsView;
  /** order runs one ACME order (order.ts; a test may pass another). */
  order?: typeof order;
  rand?: () => number;
  /** sink keeps certificates elsewhere (Kubernetes Secrets); absent: in the store. */
  sink?: CertSink;
  /** onEvent reports issued, renewed and failed orders (Kubernetes: Events). */
  onEvent?: (e: AcmeEvent) => void;
}

/** AcmeManager runs the orders of the built-in issuer. */
export class AcmeManager {
  #o: Required<Omit<AcmeManagerOptions, "dns" | "sink">> & Pick<AcmeManagerOptions, "dns" | "sink">;
  #certs = new Map<string, StoredCert>();
  #states = new Map<string, CertState>();
  #issuers = new Map<string, { spec: AcmeIssuerSpec; problem?: string; account?: string }>();
  #challenges: {
    http01: Map<string, string>;
    tlsAlpn01: Map<string, { certPem: string; keyPem: string }>;
    /** dns01 by "name value": a wildcard and its apex put two values on one name. */
    dns01: Map<string, AcmeTxt>;
  } = { http01: new Map(), tlsAlpn01: new Map(), dns01: new Map() };
  #queue = Promise.resolve();
  #set: ResourceSet | undefined;
  #closed = false;
  /** #renewHonoured is the renew annotation value last acted on per Secret (acted on once). */
  #renewHonoured = new Map<string, string>();
  /** #lastError is each issuer's last failed order's reason, until one of its orders succeeds. */
  #lastError = new Map<string, string>();
  /** #unsaved are certificates issued but not yet stored by the sink (retried, never re-ordered). */
  #unsaved = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(opts: AcmeManagerOptions) {
    this.#o = { order, rand: Math.random, onEvent: () => undefined, ...opts };
    for (const [key, value] of Object.entries(this.#o.store.loadAcme())) {
      if (!key.startsWith("certificate/")) continue;
      try {
        this.#certs.set(key.slice("certificate/".length), JSON.parse(value) as StoredCert);
      } catch {
        this.#o.log("warn", "acme: unreadable stored certificate skipped", { secret: key });
      }
    }
  }

  /** sync takes a new ResourceSet: issuers, requests, and the orders they need. */
  sync(set: ResourceSet): void {
    this.#set = set;
    this.#readIssuers(set);
    const collected = collectRequests(set);
    const { problems } = collected;
    let requests = collected.requests;
    const renewals: string[] = [];
    if (this.#o.sink) {
      const { held, foreign } = this.#o.sink.read(set);
      for (const [secret, c] of held) {
        // The Secret in the API is the truth after a restart or failover; a newer one in memory
        // (written, not yet seen back through the watch) is kept.
        const mine = this.#certs.get(secret);
        if (!mine || mine.notAfter <= c.notAfter) this.#certs.set(secret, c);
        const asked = c.renewRequested;
        if (asked && asked !== c.renewedFor && this.#renewHonoured.get(secret) !== asked) {
          this.#renewHonoured.set(secret, asked);
          renewals.push(secret);
        }
      }
      requests = requests.filter((r) => {
        if (!foreign.has(r.secret)) return true;
        problems.push({
          owner: r.owner,
          message: `Secret ${r.secret} exists and is not managed by Portico; delete it or name another secretName`,
        });
        return false;
      });
    }
    for (const p of problems) {
      this.#o.log("warn", "acme: certificate request not honoured", { ...p });
      this.#o.onEvent({
        owner: p.owner,
        issuer: "",
        type: "Warning",
        reason: "CertificateRequestNotHonoured",
        message: p.message,
      });
    }
    const wanted = new Set(requests.map((r) => r.secret));
    for (const [secret, st] of this.#states) {
      if (wanted.has(secret)) continue;
      clearTimeout(st.timer);
      this.#states.delete(secret);
    }
    for (const r of requests) {
      const st = this.#states.get(r.secret);
      if (st && st.request.issuer === r.issuer && st.request.hosts.join() === r.hosts.join()) continue;
      if (st) clearTimeout(st.timer);
      const fresh: CertState = {
        request: r,
        state: "Pending",
        message: "waiting for its order",
        failures: 0,
      };
      this.#states.set(r.secret, fresh);
      const held = this.#certs.get(r.secret);
      if (held && held.issuer === r.issuer && held.hosts.join() === r.hosts.join()) {
        fresh.state = "Issued";
        fresh.message = `issued, expires ${new Date(held.notAfter).toISOString()}`;
        this.#schedule(fresh, renewAt(held.notBefore, held.notAfter, this.#o.rand()));
      } else this.#schedule(fresh, Date.now());
    }
    for (const secret of renewals) this.renew(secret);
  }

  /** secrets are the issued certificates as the kubernetes.io/tls Secrets the requests named. */
  secrets(): Secret[] {
    const out: Secret[] = [];
    for (const id of this.#states.keys()) {
      // Until the first certificate arrives the Secret holds the default self-signed one, so the
      // HTTPS listener exists (TLS-ALPN-01 is validated on it) and the host answers meanwhile.
      const c = this.#certs.get(id) ?? { ...defaultCertificate(), issuer: "none (order pending)" };
      const [namespace, name] = id.split("/") as [string, string];
      out.push({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { namespace, name, annotations: { "portico.dev/issued-by": c.issuer } },
        type: "kubernetes.io/tls",
        data: {
          "tls.crt": Buffer.from(c.certPem).toString("base64"),
          "tls.key": Buffer.from(c.keyPem).toString("base64"),
        },
      } as Secret);
    }
    return out;
  }

  /** challenges are the answers the engines must give now; undefined when none is pending. */
  challenges(): AcmeChallenges | undefined {
    const { http01, tlsAlpn01 } = this.#challenges;
    if (http01.size === 0 && tlsAlpn01.size === 0) return undefined;
    return {
      ...(http01.size > 0
        ? { http01: [...http01].map(([token, keyAuthorization]) => ({ token, keyAuthorization })) }
        : {}),
      ...(tlsAlpn01.size > 0
        ? { tlsAlpn01: [...tlsAlpn01].map(([hostname, c]) => ({ hostname, ...c })) }
        : {}),
    };
  }

  /** dnsChallenges are the pending DNS-01 records, for the zones Portico serves (translate/acme-txt.ts). */
  dnsChallenges(): AcmeTxt[] {
    return [...this.#challenges.dns01.values()];
  }

  /** statuses are the CertificateIssuers' status: Ready, account, and each certificate's state. */
  statuses(): ObjectStatus[] {
    const now = new Date().toISOString();
    return [...this.#issuers].map(([name, i]) => {
      const uri = i.account?.startsWith("http") ? i.account : undefined;
      const certs = [...this.#states.values()].filter((s) => s.request.issuer === name);
      const conditions: Condition[] = [
        i.problem
          ? {
              type: "Ready",
              status: "False",
              reason: "Unsupported",
              message: i.problem,
              lastTransitionTime: now,
            }
          : this.#lastError.has(name)
            ? {
                type: "Ready",
                status: "False",
                reason: "OrderFailed",
                message: `the last order failed: ${this.#lastError.get(name)}`,
                lastTransitionTime: now,
              }
            : {
                type: "Ready",
                status: "True",
                reason: "Ready",
                message: `ACME directory ${i.spec.server}`,
                lastTransitionTime: now,
              },
        i.account
          ? {
              type: "AccountRegistered",
              status: "True",
              reason: "Registered",
              message: `account ${i.account}`,
              lastTransitionTime: now,
            }
          : {
              type: "AccountRegistered",
              status: "Unknown",
              reason: "NotYetUsed",
              message: "registered with the first order",
              lastTransitionTime: now,
            },
      ];
      return {
        kind: "CertificateIssuer",
        name,
        status: {
          ...(uri ? { accountURI: uri } : {}),
          conditions,
          certificates: certs.map((s) => ({
            secret: s.request.secret,
            hosts: s.request.hosts,
            owner: s.request.owner,
            state: s.state,
            message: s.message,
            ...(s.due !== undefined ? { next: new Date(s.due).toISOString() } : {}),
          })),
        },
      };
    });
  }

  /** renew orders the certificate in secret ("ns/name") now, as if it were due; false if not requested. */
  renew(secret: string): boolean {
    const st = this.#states.get(secret);
    if (!st) return false;
    this.#o.log("info", "acme: renewal requested", { secret });
    this.#schedule(st, Date.now());
    return true;
  }

  /** close cancels timers; an order in flight finishes but is not rescheduled. */
  close(): void {
    this.#closed = true;
    for (const st of this.#states.values()) clearTimeout(st.timer);
    for (const t of this.#unsaved.values()) clearTimeout(t);
  }

  #readIssuers(set: ResourceSet): void {
    this.#issuers.clear();
    const stored = this.#o.store.loadAcme();
    for (const obj of set.other.filter(
      (o) => o.kind === "CertificateIssuer",
    ) as unknown as CertificateIssuer[]) {
      const spec = obj.spec?.acme;
      const name = obj.metadata.name;
      let problem: string | undefined;
      if (!spec?.server) problem = "spec.acme.server (the ACME directory URL) is required";
      else if (spec.challenge === "DNS01" && !this.#o.dns)
        problem = "challenge DNS01 is not supported in this mode (no DNS view); use HTTP01 or TLSALPN01";
      else if (spec.challenge !== undefined && !["HTTP01", "TLSALPN01", "DNS01"].includes(spec.challenge))
        problem = `challenge ${JSON.stringify(spec.challenge)} is not one of HTTP01, TLSALPN01, DNS01`;
      const account = stored[`account/${name}`]
        ? (JSON.parse(stored[`account/${name}`]!) as { url?: string }).url
        : undefined;
      this.#issuers.set(name, {
        spec: spec ?? ({} as AcmeIssuerSpec),
        ...(problem ? { problem } : {}),
        ...(account ? { account } : {}),
      });
    }
  }

  #schedule(st: CertState, at: number): void {
    clearTimeout(st.timer);
    if (this.#closed) return;
    st.due = at;
    // setTimeout's limit is ~24.8 days; a later renewal re-arms itself on the way.
    const wait = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    st.timer = setTimeout(() => {
      if (Date.now() + 1000 < at) return this.#schedule(st, at);
      this.#queue = this.#queue.then(() => this.#run(st));
    }, wait);
    st.timer.unref?.();
  }

  async #run(st: CertState): Promise<void> {
    if (this.#closed || this.#states.get(st.request.secret) !== st) return;
    const r = st.request;
    const issuer = this.#issuers.get(r.issuer);
    st.due = undefined;
    if (!issuer || issuer.problem) {
      st.state = "Failed";
      st.message = issuer
        ? `issuer ${r.issuer}: ${issuer.problem}`
        : `CertificateIssuer ${r.issuer} not found`;
      this.#o.log("warn", "acme: certificate not ordered", {
        secret: r.secret,
        owner: r.owner,
        reason: st.message,
      });
      this.#o.onEvent({
        owner: r.owner,
        issuer: issuer ? r.issuer : "",
        type: "Warning",
        reason: "CertificateNotOrdered",
        message: `${r.secret} (${r.hosts.join(", ")}) not ordered: ${st.message}`,
      });
      return;
    }
    const started = Date.now();
    const challenge = issuer.spec.challenge ?? "HTTP01";
    let cacheMs = 0;
    try {
      // DNS-01: every name's record must go into a zone Portico serves; checked before the CA is asked.
      const dns = challenge === "DNS01" ? this.#dnsPlan(r) : undefined;
      if (dns) cacheMs = dns.cacheMs;
      const input: OrderInput = {
        directoryUrl: issuer.spec.server,
        accountKeyPem: await this.#accountKey(r.issuer),
        hosts: r.hosts,
        challenge,
        ...(issuer.spec.email ? { email: issuer.spec.email } : {}),
        ...(issuer.spec.caBundle ? { caBundle: issuer.spec.caBundle } : {}),
        ...this.#eab(issuer.spec),
      };
      this.#o.log("info", "acme: ordering certificate", {
        secret: r.secret,
        hosts: r.hosts,
        issuer: r.issuer,
      });
      const placed = (a: ChallengeAnswers): ChallengeAnswers =>
        a.dns01 && dns
          ? { ...a, dns01: a.dns01.map((t) => ({ ...t, name: dns.names.get(t.name) ?? t.name })) }
          : a;
      const issued = await this.#o.order(input, {
        add: async (a) => {
          await this.#setChallenges(placed(a), true);
          if (a.dns01) await awaitTxtServed(this.#o.dns!, placed(a).dns01!);
        },
        remove: (a) => this.#setChallenges(placed(a), false),
      });
      const x = new X509Certificate(issued.certPem);
      const { accountUrl, ...chain } = issued;
      const stored: StoredCert = {
        ...chain,
        issuer: r.issuer,
        hosts: r.hosts,
        notBefore: Date.parse(x.validFrom),
        notAfter: Date.parse(x.validTo),
      };
      const renewal = this.#certs.has(r.secret);
      this.#certs.set(r.secret, stored);
      await this.#keep(r, stored);
      if (accountUrl && issuer.account !== accountUrl) await this.#saveAccountUrl(r.issuer, accountUrl);
      issuer.account = accountUrl ?? issuer.account ?? "registered";
      this.#lastError.delete(r.issuer);
      st.state = "Issued";
      st.failures = 0;
      st.message = `issued, expires ${new Date(stored.notAfter).toISOString()}`;
      this.#o.log("info", "acme: certificate issued", {
        secret: r.secret,
        hosts: r.hosts,
        issuer: x.issuer.replace(/\n/g, ", "),
        notAfter: new Date(stored.notAfter).toISOString(),
        ms: Date.now() - started,
      });
      this.#o.onEvent({
        owner: r.owner,
        issuer: r.issuer,
        type: "Normal",
        reason: renewal ? "CertificateRenewed" : "CertificateIssued",
        message: `${renewal ? "renewed" : "issued"} ${r.secret} for ${r.hosts.join(", ")} by ${r.issuer} in ${Date.now() - started} ms, expires ${new Date(stored.notAfter).toISOString()}`,
      });
      this.#schedule(st, renewAt(stored.notBefore, stored.notAfter, this.#o.rand()));
      await this.#o.refresh();
    } catch (err) {
      st.failures++;
      st.state = this.#certs.has(r.secret) ? "Issued" : "Failed";
      st.message = `order failed: ${errText(err)}`;
      // A resolver may hold a failed DNS-01 lookup (negative TTL) or the last value (TXT TTL): the
      // retry waits them out, or it would fail on the cached answer.
      const wait = Math.max(backoffMs(st.failures, this.#o.rand()), cacheMs);
      this.#o.log("warn", "acme: order failed", {
        secret: r.secret,
        owner: r.owner,
        hosts: r.hosts,
        error: errText(err),
        failures: st.failures,
        retryInMs: wait,
      });
      this.#o.onEvent({
        owner: r.owner,
        issuer: r.issuer,
        type: "Warning",
        reason: "CertificateOrderFailed",
        message: `order for ${r.secret} (${r.hosts.join(", ")}) failed: ${errText(err)}; retry in ${Math.round(wait / 1000)} s`,
      });
      this.#lastError.set(r.issuer, errText(err));
      this.#schedule(st, Date.now() + wait);
      // The new state (Failed, the CA's reason) reaches the issuer's status.
      await this.#o.refresh();
    }
  }

  /**
   * #dnsPlan places each host's DNS-01 record (its challenge name, or that name's CNAME target) in
   * a served zone that admits the asking object's namespace; throws the first reason it cannot.
   * cacheMs is how long a resolver may keep an answer for those names (negative TTL + TXT TTL).
   */
  #dnsPlan(r: CertRequest): { names: Map<string, string>; cacheMs: number } {
    const set = this.#set;
    const zones = set ? servedZones(set) : [];
    const namespace = r.owner.split("/")[1] ?? "";
    const labels = set?.namespaces.find((n) => n.metadata.name === namespace)?.metadata.labels ?? {};
    const names = new Map<string, string>();
    let cacheMs = 0;
    for (const host of r.hosts) {
      const name = challengeName(host);
      const place = acmeTxtPlace(zones, name, namespace, labels);
      if ("problem" in place) throw new Error(`DNS-01 for ${host}: ${place.problem}`);
      names.set(name, place.name);
      cacheMs = Math.max(cacheMs, (place.negativeTtl + ACME_TXT_TTL) * 1000);
    }
    return { names, cacheMs };
  }

  async #accountKey(issuer: string): Promise<string> {
    const key = `account/${issuer}`;
    const stored = this.#o.store.loadAcme()[key];
    if (stored) return (JSON.parse(stored) as { keyPem: string }).keyPem;
    const keyPem = await newAccountKey();
    await this.#o.store.saveAcme(key, JSON.stringify({ keyPem }));
    return keyPem;
  }

  /** #saveAccountUrl records the account's URI beside its key (the status reports it). */
  async #saveAccountUrl(issuer: string, url: string): Promise<void> {
    const key = `account/${issuer}`;
    const stored = this.#o.store.loadAcme()[key];
    if (!stored) return;
    await this.#o.store.saveAcme(key, JSON.stringify({ ...(JSON.parse(stored) as object), url }));
  }

  /**
   * #keep stores an issued certificate: in the AcmeStore, or through the sink. A sink that fails
   * (the API away, RBAC) is retried on its own: the certificate keeps serving from memory and is
   * never ordered again for that.
   */
  async #keep(r: CertRequest, stored: StoredCert, attempt = 0): Promise<void> {
    const sink = this.#o.sink;
    if (!sink) {
      await this.#o.store.saveAcme(`certificate/${r.secret}`, JSON.stringify(stored));
      return;
    }
    clearTimeout(this.#unsaved.get(r.secret));
    this.#unsaved.delete(r.secret);
    try {
      await sink.save(r, stored, this.#renewHonoured.get(r.secret));
    } catch (err) {
      const wait = backoffMs(attempt + 1, this.#o.rand());
      this.#o.log("warn", "acme: certificate not stored; retrying", {
        secret: r.secret,
        error: errText(err),
        retryInMs: wait,
      });
      if (this.#closed) return;
      const t = setTimeout(() => {
        if (this.#certs.get(r.secret) === stored) void this.#keep(r, stored, attempt + 1);
      }, wait);
      t.unref?.();
      this.#unsaved.set(r.secret, t);
    }
  }

  #eab(spec: AcmeIssuerSpec): Pick<OrderInput, "eab"> {
    const eab = spec.externalAccountBinding;
    if (!eab) return {};
    const ref = eab.keySecretRef;
    const s = this.#set?.secrets.find(
      (x) =>
        x.metadata.name === ref.name && (x.metadata.namespace ?? "default") === (ref.namespace ?? "default"),
    );
    const value = s?.data?.[ref.key];
    if (value === undefined)
      throw new Error(
        `externalAccountBinding: Secret ${ref.namespace ?? "default"}/${ref.name} key ${ref.key} not found`,
      );
    return { eab: { kid: eab.keyID, hmacKey: Buffer.from(value, "base64").toString("utf8").trim() } };
  }

  async #setChallenges(a: ChallengeAnswers, on: boolean): Promise<void> {
    for (const t of a.dns01 ?? []) {
      if (on) this.#challenges.dns01.set(`${t.name} ${t.value}`, t);
      else this.#challenges.dns01.delete(`${t.name} ${t.value}`);
    }
    for (const c of a.http01 ?? []) {
      if (on) this.#challenges.http01.set(c.token, c.keyAuthorization);
      else this.#challenges.http01.delete(c.token);
    }
    for (const c of a.tlsAlpn01 ?? []) {
      if (on) this.#challenges.tlsAlpn01.set(c.hostname, { certPem: c.certPem, keyPem: c.keyPem });
      else this.#challenges.tlsAlpn01.delete(c.hostname);
    }
    await this.#o.refresh();
  }
}

// errText is an error's first line (an ACME problem's detail), never a key or token.
function errText(err: unknown): string {
  const text = err instanceof Error ? err.message.split("\n")[0]! : String(err);
  // A CA quotes the challenge URL in its problem detail; the token stays out of the logs.
  return text.replace(/acme-challenge\/[A-Za-z0-9_-]+/g, "acme-challenge/<token>");
}
