// metrics.ts: the controller's own Prometheus series — configuration reloads, IPAM usage per pool
// and family, pending VIP requests, and listener bind state — appended to the engine's exposition.
// They live here, not in the engine, because only the controller sees reloads and IPAM, and the
// bind state it reads is already merged over every engine worker (a sum of worker gauges is not).
import type { ListenerStatus } from "../engine/listeners.ts";
import { Counter, Gauge } from "../engine/prom.ts";
import type { AllocateOutput } from "../ipam/types.ts";
import type { CertificateUse } from "../translate/certificates.ts";

/** ControllerMetrics counts reloads and renders the controller's series. */
export class ControllerMetrics {
  #reloads = 0;
  #failures = 0;
  #lastSuccess = 0;
  #lastOk = true;
  #version = 0;
  #ipam: AllocateOutput | undefined;
  #certificates: readonly CertificateUse[] = [];

  /** reloaded records one reload (a new ResourceSet processed); ok false when it was not applied as given. */
  reloaded(ok: boolean, version: number, ipam: AllocateOutput | undefined, now = Date.now()): void {
    this.#reloads++;
    this.#lastOk = ok;
    if (ok) this.#lastSuccess = now / 1000;
    else this.#failures++;
    this.#version = version;
    if (ipam !== undefined) this.#ipam = ipam;
  }

  /** certificatesChecked records the certificates of the last build (translate's certificateUses). */
  certificatesChecked(uses: readonly CertificateUse[]): void {
    this.#certificates = uses;
  }

  /** render returns the exposition text of the controller's series. */
  render(listeners: readonly ListenerStatus[]): string {
    const one = (g: Counter, v: number) => (g.set([], v), g);
    const families = [
      one(
        new Counter(
          "portico_config_reloads_total",
          "Configuration reloads (a changed input set processed).",
          [],
        ),
        this.#reloads,
      ),
      one(
        new Counter(
          "portico_config_reload_failures_total",
          "Reloads not applied as given: input errors (the file's last good version kept) or a rejected snapshot.",
          [],
        ),
        this.#failures,
      ),
      one(
        new Gauge(
          "portico_config_last_reload_successful",
          "1 if the last reload was applied as given, else 0.",
          [],
        ),
        this.#lastOk ? 1 : 0,
      ),
      one(
        new Gauge(
          "portico_config_last_reload_success_timestamp_seconds",
          "Unix time of the last successful reload (0: none).",
          [],
        ),
        this.#lastSuccess,
      ),
      one(
        new Gauge(
          "portico_config_snapshot_version",
          "Version of the snapshot the engine serves (0: none).",
          [],
        ),
        this.#version,
      ),
    ];
    const inUse = new Gauge("portico_ipam_addresses_in_use", "VIP addresses assigned, per pool and family.", [
      "pool",
      "family",
    ]);
    const available = new Gauge(
      "portico_ipam_addresses_available",
      "VIP addresses free, per pool and family.",
      ["pool", "family"],
    );
    for (const [pool, s] of Object.entries(this.#ipam?.poolStatus ?? {})) {
      inUse.set([pool, "IPv4"], s.assignedIPv4);
      inUse.set([pool, "IPv6"], s.assignedIPv6);
      available.set([pool, "IPv4"], s.availableIPv4);
      available.set([pool, "IPv6"], s.availableIPv6);
    }
    const pendingCount = Object.values(this.#ipam?.results ?? {}).filter((r) => !r.ok).length;
    const pending = one(
      new Gauge(
        "portico_ipam_pending_requests",
        "VIP requests IPAM could not serve (see portico explain).",
        [],
      ),
      pendingCount,
    );
    const bound = new Gauge(
      "portico_listener_bound",
      "1 when the listener's socket is bound (in every engine worker), else 0.",
      ["listener", "address", "protocol"],
    );
    for (const l of listeners)
      bound.set([l.name, `${l.key.slice(l.key.indexOf("/") + 1)}`, l.protocol], l.state === "bound" ? 1 : 0);
    // One series per Secret (not per host): bounded by the Secrets in use, whatever the host count.
    const expiry = new Gauge(
      "portico_certificate_expiry_timestamp_seconds",
      "Unix time a served TLS certificate's notAfter falls on, per Secret.",
      ["namespace", "secret"],
    );
    const usable = new Gauge(
      "portico_certificate_usable",
      "1 when the Secret's certificate is served for every host that asks for it, 0 when some get the default certificate.",
      ["namespace", "secret"],
    );
    const worst = new Map<string, CertificateUse>();
    for (const u of this.#certificates) {
      const bad = (x: CertificateUse) => x.state === "Expired" || x.state === "Invalid";
      const held = worst.get(u.secret);
      if (!held || (bad(u) && !bad(held))) worst.set(u.secret, u);
    }
    for (const [secret, u] of worst) {
      const [ns, name] = secret.split("/") as [string, string];
      if (u.notAfter) expiry.set([ns, name], Date.parse(u.notAfter) / 1000);
      usable.set([ns, name], u.state === "Expired" || u.state === "Invalid" ? 0 : 1);
    }
    const out: string[] = [];
    for (const f of [...families, inUse, available, pending, bound, expiry, usable]) f.render(out);
    return out.join("\n") + "\n";
  }
}
