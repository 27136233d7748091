// gateway.ts: the Gateway API pass (standard channel v1.6). In the order Envoy Gateway's translator
// follows: Portico's GatewayClasses, their Gateways and ListenerSets (listeners validated and
// checked for conflicts), then every route kind attached to them (parents, hostnames, backends,
// filters), then each Gateway's IR listeners and VIP request, and last the status of everything
// it touched. Objects of other controllers get no status at all.
import type { Gateway } from "../k8s/gateway-api.ts";
import type { TranslateContext } from "./context.ts";
import type { Parent } from "./gateway-attach.ts";
import { BackendTlsIndex } from "./backendtls.ts";
import type { BackendEnv } from "./gateway-backends.ts";
import { backendClientCert, type BackendClientCert } from "./gateway-backend-tls.ts";
import { buildGateway, requestedAddresses } from "./gateway-build.ts";
import { ourClasses } from "./gateway-class.ts";
import { Problems, conditions, generationOf, no, yes, type Cond } from "./gateway-conditions.ts";
import { insecureFallback } from "./gateway-frontend-tls.ts";
import { buildListener, markConflicts } from "./gateway-listeners.ts";
import { attachRoutes } from "./gateway-routes.ts";
import { renderListener } from "./gateway-status.ts";
import { keyOfObj, listenerUsable, type Listener } from "./gateway-types.ts";
import { listenerSetStatus, listenerSetsOf, type ListenerSetVerdict } from "./listenerset.ts";
import { indexGrants } from "./referencegrant.ts";
import { refOf } from "./status.ts";

/** GatewayState is one Gateway of Portico's while the pass runs. */
interface GatewayState {
  gw: Gateway;
  own: Listener[];
  all: Listener[];
  sets: { verdict: ListenerSetVerdict; listeners: Listener[] }[];
  problems: Problems;
  /** clientCert is spec.tls.backend's client certificate, when the Gateway sets one. */
  clientCert: BackendClientCert | undefined;
}

/** translateGateways is the pass: Gateway API objects into listeners, pools, VIP requests and status. */
export function translateGateways(ctx: TranslateContext): void {
  const classes = ourClasses(ctx);
  const env: BackendEnv = { ctx, grants: indexGrants(ctx.set), backendTls: new BackendTlsIndex(ctx.set) };
  const parents = new Map<string, Parent>();
  const states: GatewayState[] = [];
  for (const o of ctx.set.other) {
    if (o.kind !== "Gateway") continue;
    const gw = o as unknown as Gateway;
    const cls = classes.get(gw.spec?.gatewayClassName);
    if (!cls) {
      ctx.notices.push(
        `${keyOfObj(gw)}: GatewayClass ${JSON.stringify(gw.spec?.gatewayClassName)} is not Portico's; ignored`,
      );
      continue;
    }
    const st = gatewayState(ctx, env, gw, cls.accepted);
    states.push(st);
    parents.set(keyOfObj(gw), { obj: gw, gateway: gw, listeners: st.own });
    for (const s of st.sets)
      if (!s.verdict.refused)
        parents.set(keyOfObj(s.verdict.set), { obj: s.verdict.set, gateway: gw, listeners: s.listeners });
  }
  const compiled = attachRoutes(env, parents);
  for (const st of states) {
    const accepted = gatewayAccepted(st);
    if (accepted.status === "True") buildGateway(ctx, st.gw, st.all, compiled, st.clientCert?.certificate);
    const gen = generationOf(st.gw);
    const ref = refOf(st.gw);
    const programmed: Cond = accepted.status === "True" ? yes("Programmed") : no("Invalid", accepted.message);
    const values: Record<string, Cond> = { Accepted: accepted, Programmed: programmed };
    // ResolvedRefs covers the references of the Gateway itself (listeners report their own).
    if (st.clientCert !== undefined) values.ResolvedRefs = st.clientCert.resolvedRefs;
    // GEP-91: a Gateway that accepts clients without a valid certificate says so in its status.
    const insecure = insecureFallback(st.gw.spec.tls?.frontend);
    if (insecure.length > 0)
      values.InsecureFrontendValidationMode = yes(
        "ConfigurationChanged",
        `spec.tls.frontend (${insecure.join(", ")}): AllowInsecureFallback accepts clients without a valid certificate`,
      );
    ctx.status.field(ref, "conditions", conditions(values, gen));
    ctx.status.field(
      ref,
      "listeners",
      st.own.map((l) => renderListener(l, gen)),
    );
    let attachedSets = 0;
    for (const s of st.sets) {
      const status = listenerSetStatus(s.verdict, s.listeners, accepted.status === "True");
      if (status.conditions.some((c) => c.type === "Accepted" && c.status === "True")) attachedSets++;
      for (const [k, v] of Object.entries(status)) ctx.status.field(refOf(s.verdict.set), k, v);
    }
    // attachedListenerSets counts the sets this Gateway accepted (conformance: listenerset-*).
    if (st.sets.length > 0) ctx.status.field(ref, "attachedListenerSets", attachedSets);
  }
  for (const { policy, status } of env.backendTls.statuses()) {
    ctx.status.field(refOf(policy), "ancestors", status.ancestors);
  }
}

/** gatewayState validates a Gateway's addresses and collects its listeners and ListenerSets. */
function gatewayState(
  ctx: TranslateContext,
  env: BackendEnv,
  gw: Gateway,
  classAccepted: boolean,
): GatewayState {
  const problems = new Problems();
  if (!classAccepted) problems.add("Invalid", `GatewayClass ${gw.spec.gatewayClassName} is not accepted`);
  const params = gw.spec.infrastructure?.parametersRef;
  if (params) {
    problems.add(
      "InvalidParameters",
      `infrastructure.parametersRef ${params.group}/${params.kind} ${params.name}: Portico takes no Gateway parameters`,
    );
  }
  for (const bad of requestedAddresses(gw).bad) {
    problems.add("UnsupportedAddress", `address ${bad}: only IPAddress values are supported`);
  }
  const clientCert = backendClientCert(ctx, env.grants, gw);
  const own = (gw.spec.listeners ?? []).map((spec) => buildListener(ctx, env.grants, gw, gw, spec));
  const sets = listenerSetsOf(ctx.set, gw).map((verdict) => ({
    verdict,
    listeners: verdict.refused
      ? []
      : (verdict.set.spec.listeners ?? []).map((spec) =>
          buildListener(ctx, env.grants, gw, verdict.set, spec),
        ),
  }));
  const all = [...own, ...sets.flatMap((s) => s.listeners)];
  markConflicts(all, own.length);
  return { gw, own, all, sets, problems, clientCert };
}

/** gatewayAccepted is the Gateway's Accepted value: its own problems, then its listeners'. */
function gatewayAccepted(st: GatewayState): Cond {
  if (!st.problems.empty) return st.problems.cond("Accepted");
  const bad = st.own.filter((l) => !listenerUsable(l));
  if (bad.length === 0) return yes("Accepted");
  const message = `listeners not valid: ${bad.map((l) => l.name).join(", ")}`;
  return st.all.some(listenerUsable) ? yes("ListenersNotValid", message) : no("ListenersNotValid", message);
}
