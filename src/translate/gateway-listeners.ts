// gateway-listeners.ts: a Gateway's listeners checked against the spec before any route attaches:
// protocol, allowed route kinds, TLS mode and certificates (cross-namespace only with a
// ReferenceGrant), and distinctness. Indistinct listeners of one Gateway are all Conflicted (the
// spec forbids picking a winner); a ListenerSet's listener that clashes with one of higher
// precedence (the Gateway's, an older ListenerSet's) is the one marked Conflicted.
import type { Gateway, GatewaySpecListeners, ListenerSet } from "../k8s/gateway-api.ts";
import type { TranslateContext } from "./context.ts";
import { GATEWAY_GROUP, Problems } from "./gateway-conditions.ts";
import { checkFrontendValidation } from "./gateway-frontend-tls.ts";
import { KINDS_BY_PROTOCOL, nsOf, type Listener, type RouteKind } from "./gateway-types.ts";
import { gatewayFrom, refPermitted, type GrantIndex } from "./referencegrant.ts";
import { certificateUse, nowOf } from "./certificates.ts";
import { keyOf, refOf } from "./status.ts";
import { checkTlsSecret, keyTypeOf, secretMap, servingProblem } from "./secrets.ts";
import { parseGatewayTlsOptions } from "./tls-options.ts";

/** buildListener validates one listener spec of a Gateway or ListenerSet. */
export function buildListener(
  ctx: TranslateContext,
  grants: GrantIndex,
  gateway: Gateway,
  owner: Gateway | ListenerSet,
  spec: GatewaySpecListeners,
): Listener {
  const l: Listener = {
    gateway,
    owner,
    spec,
    name: spec.name,
    port: spec.port,
    protocol: spec.protocol,
    supportedKinds: [],
    accepted: new Problems(),
    resolvedRefs: new Problems(),
    certificateProblems: new Problems(),
    certificates: [],
    attached: [],
  };
  if (spec.hostname && spec.protocol !== "TCP" && spec.protocol !== "UDP")
    l.hostname = spec.hostname.toLowerCase();
  const kinds = KINDS_BY_PROTOCOL[spec.protocol];
  if (!kinds) {
    l.accepted.add("UnsupportedProtocol", `protocol ${JSON.stringify(spec.protocol)} is not supported`);
    return l;
  }
  l.supportedKinds = supportedKinds(l, kinds);
  checkTls(ctx, grants, l);
  return l;
}

/** supportedKinds intersects allowedRoutes.kinds with what the protocol carries; others are InvalidRouteKinds. */
function supportedKinds(l: Listener, kinds: readonly RouteKind[]): RouteKind[] {
  const asked = l.spec.allowedRoutes?.kinds;
  if (!asked) return [...kinds];
  const out: RouteKind[] = [];
  for (const k of asked) {
    const group = k.group ?? GATEWAY_GROUP;
    if (group === GATEWAY_GROUP && (kinds as readonly string[]).includes(k.kind)) {
      if (!out.includes(k.kind as RouteKind)) out.push(k.kind as RouteKind);
    } else {
      l.resolvedRefs.add(
        "InvalidRouteKinds",
        `route kind ${group}/${k.kind} is not supported on a ${l.protocol} listener`,
      );
    }
  }
  return out;
}

/** checkTls validates the tls block: required for HTTPS and TLS; certificates for Terminate. */
function checkTls(ctx: TranslateContext, grants: GrantIndex, l: Listener): void {
  const tls = l.spec.tls;
  if (l.protocol === "HTTP" || l.protocol === "TCP" || l.protocol === "UDP") return;
  if (!tls) {
    l.accepted.add("Invalid", `a ${l.protocol} listener needs a tls block`);
    return;
  }
  const mode = tls.mode ?? "Terminate";
  if (l.protocol === "HTTPS" && mode !== "Terminate") {
    l.accepted.add("UnsupportedValue", "an HTTPS listener terminates TLS; Passthrough needs protocol TLS");
    return;
  }
  if (mode === "Passthrough") return;
  const refs = tls.certificateRefs ?? [];
  if (refs.length === 0) {
    l.resolvedRefs.add("InvalidCertificateRef", "tls.certificateRefs is empty");
    return;
  }
  const parsed = parseGatewayTlsOptions(tls.options);
  for (const e of parsed.errors) l.accepted.add("UnsupportedValue", `tls.options ${e}`);
  for (const i of parsed.ignored) ctx.notices.push(`${listenerShown(l)}: tls.options ${i}`);
  if (parsed.options !== undefined) l.tlsOptions = parsed.options;
  const secrets = secretMap(ctx.set.secrets);
  const ownerNs = nsOf(l.owner);
  // keyTypes: one certificate per key type (ECDSA beside RSA); OpenSSL would let a second of the same type replace the first.
  const keyTypes = new Map<string, string>();
  for (const ref of refs) {
    const group = ref.group ?? "";
    const kind = ref.kind ?? "Secret";
    const ns = ref.namespace ?? ownerNs;
    const shown = `${kind} ${ns}/${ref.name}`;
    if (group !== "" || kind !== "Secret") {
      l.resolvedRefs.add("InvalidCertificateRef", `${shown}: only core Secrets hold certificates`);
      continue;
    }
    if (
      !refPermitted(grants, gatewayFrom(l.owner.kind, ownerNs), {
        group,
        kind,
        namespace: ns,
        name: ref.name,
      })
    ) {
      l.resolvedRefs.add("RefNotPermitted", `${shown}: no ReferenceGrant in ${ns} allows it`);
      continue;
    }
    const checked = checkTlsSecret(secrets, ns, ref.name);
    const base = {
      secret: `${ns}/${ref.name}`,
      object: keyOf(refOf(l.owner)),
      listener: l.name,
      hosts: [l.hostname ?? "*"],
    };
    if (!checked.ok) {
      ctx.certificateUses.push(certificateUse(base, checked, nowOf(ctx.opts.now)));
      l.resolvedRefs.add("InvalidCertificateRef", checked.message);
      continue;
    }
    // Only the clock is checked here, not the names: the Gateway API's InvalidCertificateRef is about
    // the Secret, and its conformance certificates cover hostnames only through "*.org"-style
    // wildcards, which RFC 6125 matching (OpenSSL's, browsers') refuses.
    const problem = servingProblem(checked, undefined, nowOf(ctx.opts.now));
    ctx.certificateUses.push(certificateUse(base, checked, nowOf(ctx.opts.now), problem));
    if (problem) {
      l.certificateProblems.add(
        "InvalidCertificateRef",
        `${problem.message}; served with the default certificate meanwhile`,
      );
      continue;
    }
    const type = keyTypeOf(checked.x509);
    const held = keyTypes.get(type);
    if (held !== undefined) {
      ctx.notices.push(
        `${listenerShown(l)}: Secret ${checked.name} not served: ${held} already gives the listener its ${type} certificate (one per key type)`,
      );
      continue;
    }
    keyTypes.set(type, checked.name);
    ctx.certificates[checked.name] = checked.cert;
    l.certificates.push(checked.name);
  }
  checkFrontendValidation(ctx, grants, l);
}

/** family groups the protocols that can share one TCP port. */
function family(protocol: string): string {
  return protocol === "HTTPS" || protocol === "TLS" ? "tls" : protocol;
}

/** clash says why two accepted listeners are indistinct, or undefined when they are distinct. */
function clash(a: Listener, b: Listener): "HostnameConflict" | "ProtocolConflict" | undefined {
  if (a.port !== b.port) return undefined;
  const udp = (l: Listener) => l.protocol === "UDP";
  if (udp(a) !== udp(b)) return undefined;
  if (family(a.protocol) !== family(b.protocol)) return "ProtocolConflict";
  if (a.protocol === "TCP" || a.protocol === "UDP") return "ProtocolConflict";
  return (a.hostname ?? "") === (b.hostname ?? "") ? "HostnameConflict" : undefined;
}

/**
 * markConflicts sets Conflicted on indistinct listeners. listeners are in precedence order;
 * `firstSet` is the index where ListenerSet listeners begin.
 */
export function markConflicts(listeners: readonly Listener[], firstSet: number): void {
  const live = listeners.filter((l) => l.accepted.empty);
  for (let i = 0; i < live.length; i++) {
    const a = live[i]!;
    const fromSet = listeners.indexOf(a) >= firstSet;
    for (let j = 0; j < i; j++) {
      const b = live[j]!;
      const why = clash(a, b);
      if (!why) continue;
      // A ListenerSet listener loses to every listener of higher precedence that is itself live.
      if (fromSet && !b.conflicted) {
        const where = `${b.owner.kind} ${nsOf(b.owner)}/${b.owner.metadata.name}`;
        a.conflicted = {
          status: "True",
          reason: why,
          message: `port ${a.port}: conflicts with listener ${b.name} of ${where}`,
        };
        break;
      }
      if (!fromSet) {
        const msg = (x: Listener, y: Listener) => `port ${x.port}: indistinct from listener ${y.name}`;
        a.conflicted ??= { status: "True", reason: why, message: msg(a, b) };
        b.conflicted ??= { status: "True", reason: why, message: msg(b, a) };
      }
    }
  }
  markTlsOptionConflicts(live);
}

/**
 * markTlsOptionConflicts: OpenSSL fixes versions and cipher suites before SNI picks a listener, so
 * the terminating listeners of one port share one set of tls.options; the first (by precedence)
 * sets them and a later one asking for others is Conflicted, never served with settings it did
 * not ask for.
 */
function markTlsOptionConflicts(live: readonly Listener[]): void {
  const first = new Map<number, Listener>();
  for (const l of live) {
    const terminates = l.protocol === "HTTPS" || (l.protocol === "TLS" && l.spec.tls?.mode !== "Passthrough");
    if (!terminates || l.conflicted) continue;
    const b = first.get(l.port);
    if (b === undefined) {
      first.set(l.port, l);
      continue;
    }
    if (JSON.stringify(l.tlsOptions ?? {}) === JSON.stringify(b.tlsOptions ?? {})) continue;
    l.conflicted = {
      status: "True",
      reason: "TLSOptionsConflict",
      message: `port ${l.port}: tls.options differ from listener ${b.name}'s; versions and cipher suites are per port (chosen before SNI), give every HTTPS listener on the port the same options`,
    };
  }
}

// listenerShown names a listener for notices: "Gateway ns/name listener https".
function listenerShown(l: Listener): string {
  return `${l.owner.kind} ${nsOf(l.owner)}/${l.owner.metadata.name} listener ${l.name}`;
}
