// pipeline.ts: the pure pipeline, ResourceSet → translate → allocate → EngineSnapshot + statuses.
// Standalone mode, the kube controller and the offline CLI all run this one function, so what
// `portico translate` prints is what an engine would be sent.
import type { ResourceSet } from "../k8s/resource-set.ts";
import type { Condition, LoadBalancerIngress } from "../k8s/types.ts";
import { allocate } from "../ipam/allocate.ts";
import type { AllocateOutput, AllocationResult, AllocationState } from "../ipam/types.ts";
import type { EngineSnapshot, HttpListener, L4Listener, Pool } from "../model/ir.ts";
import { DEFAULT_ENGINE_GROUP } from "../k8s/engine-group.ts";
import { resolveGroups, type GroupServing } from "../translate/engine-group.ts";
import { applyTenantLimits } from "../translate/tenant-limits.ts";
import { applyGatewayAllocation } from "../translate/gateway-status.ts";
import { buildDns, type DnsOutput, type DnsSerials } from "../translate/dns.ts";
import type { AcmeTxt } from "../translate/acme-txt.ts";
import { applyPolicyTargets, editConditions } from "../translate/policy-status.ts";
import { compareStatus, VIP_ALLOCATED, keyOf } from "../translate/status.ts";
import { translate } from "../translate/translate.ts";
import { servedTargets } from "../translate/latency-target.ts";
import type { ObjectStatus, TenantMemory, TranslateOptions, TranslateResult } from "../translate/types.ts";
import {
  holdLastValid,
  INPUT_VALID,
  invalidKey,
  reportedOn,
  type InvalidObject,
  type LastValid,
} from "./hold.ts";
import { applyGroups, refusedGroups } from "./group-status.ts";
import { DEFAULT_LEASE_SECONDS, resolveAnnounce, type AnnounceProblem } from "../translate/announce.ts";

/** PipelineOutput is one snapshot, the allocations behind it, and the status of every object. */
export interface PipelineOutput {
  snapshot: EngineSnapshot;
  allocations: AllocateOutput;
  statuses: ObjectStatus[];
  translate: TranslateResult;
  /** invalid lists the objects that failed their check (see hold.ts); each is an error to report. */
  invalid: InvalidObject[];
  /** lastValid is what the next run's lastValid should be once this snapshot serves. */
  lastValid: LastValid;
  /**
   * groups maps every EngineGroup name (each manifest, "default" always, and any name objects
   * refer to that has no manifest, with exists false) to its spec with defaults applied and the
   * VIP addresses and objects it serves; the fleet code reads haMode and spares here.
   */
  groups: Record<string, GroupServing>;
  /** dns is what the DNS step published: servers, the names per object, and the serials to carry. */
  dns: DnsOutput;
}

/** withTenants is opts with the previous served build's tenant admissions (TranslateOptions.tenantsBefore). */
export function withTenants(opts: TranslateOptions, before: TenantMemory | undefined): TranslateOptions {
  return before ? { ...opts, tenantsBefore: before } : opts;
}

/** DnsClock is what the DNS step needs beyond the set: the last serials, the time (Unix seconds) and the pending DNS-01 answers. */
export interface DnsClock {
  serials?: DnsSerials;
  nowSeconds?: number;
  acmeTxt?: readonly AcmeTxt[];
}

/**
 * buildSnapshot holds invalid objects at their last valid version (lastValid, from the previous
 * run that served), then runs translate and IPAM and merges them into snapshot `version`. Pure.
 */
export function buildSnapshot(
  input: ResourceSet,
  opts: TranslateOptions,
  previous: AllocationState,
  version: number,
  lastValid: LastValid = new Map(),
  clock: DnsClock = {},
): PipelineOutput {
  const held = holdLastValid(input, lastValid);
  const set = held.set;
  // The run's clock is translate's too: certificates are checked for expiry at this time.
  const tr = translate(
    set,
    opts.now === undefined && clock.nowSeconds !== undefined
      ? { ...opts, now: new Date(clock.nowSeconds * 1000).toISOString() }
      : opts,
  );
  const allocations = allocate({
    requests: tr.vipRequests,
    pools: set.vipPools,
    namespaces: set.namespaces,
    previous,
  });
  const addressesOf = (vip: string): string[] => {
    const r = allocations.results[vip];
    return r?.ok ? r.addresses : [];
  };
  const groups = resolveGroups(
    tr.groupClaims,
    allocations.results,
    set.engineGroups,
    set.vipPools,
    refusedGroups(held.invalid),
  );
  const groupOf = (address: string): string => groups.groupOf[address] ?? DEFAULT_ENGINE_GROUP;
  // One listener per assigned address: a dual-stack VIP listens on both; a pending VIP on none.
  // Properties in this order ({name, address, group, ...}) only so that printed snapshots read well.
  const l4: L4Listener[] = tr.l4.flatMap(({ vip, name, ...rest }) =>
    addressesOf(vip).map((address) => ({ name, address, group: groupOf(address), ...rest })),
  );
  // A tenant's requestsPerSecond / connections go on its routes with its values for each group.
  const http: HttpListener[] = applyTenantLimits(
    tr.http.flatMap(({ vip, name, ...rest }) =>
      addressesOf(vip).map((address) => ({ name, address, group: groupOf(address), ...rest })),
    ),
    set.tenants,
    tr.tenants?.namespaces ?? {},
  );
  const whyNoAddress = (vip: string) => {
    const r = allocations.results[vip];
    return r && !r.ok ? { reason: r.reason, message: r.message } : undefined;
  };
  const dnsInput = {
    set,
    zones: tr.dnsZones,
    l4,
    http,
    vipOf: tr.vipOf,
    addressesOf,
    whyNoAddress,
    groupOf,
    ...(tr.tenants ? { tenantNamespaces: tr.tenants.namespaces } : {}),
  };
  const dns = buildDns({ ...dnsInput, ...clock });
  const announce = resolveAnnounce({
    results: allocations.results,
    vipOf: tr.vipOf,
    pools: set.vipPools,
    groupOf: groups.groupOf,
    groups: set.engineGroups,
    secrets: set.secrets,
    secretNamespace: opts.secretNamespace ?? "default",
  });
  for (const [name, bgp] of Object.entries(announce.speakers))
    if (groups.groups[name]) groups.groups[name].bgp = bgp;
  const pools = pick(tr.pools, usedPools(l4, http));
  const snapshot: EngineSnapshot = {
    version,
    l4,
    http,
    pools,
    certificates: pick(tr.certificates, usedCertificates(http, pools)),
    // The full snapshot's lease is the default; each engine's slice carries its group's (slice.ts).
    ...(announce.vips.length > 0
      ? { announce: { leaseMs: DEFAULT_LEASE_SECONDS * 1000, vips: announce.vips } }
      : {}),
  };
  if (dns.servers.length > 0) snapshot.dns = dns.servers;
  const targetsMs = servedTargets(tr.targetsMs, l4, http);
  if (Object.keys(targetsMs).length > 0) snapshot.analytics = { targetsMs };
  const merged = applyAnnounceProblems(
    applyGroups(mergeStatuses(set, tr, allocations), set, groups, held.invalid, {
      standalone: opts.standalone === true,
    }),
    announce.problems,
  );
  applyDns(merged, dns);
  applyPolicyTargets(merged);
  const statuses = reportInvalid(set, merged.sort(compareStatus), held.invalid);
  return {
    snapshot,
    allocations,
    statuses,
    translate: tr,
    invalid: held.invalid,
    lastValid: held.lastValid,
    groups: groups.groups,
    dns,
  };
}

/**
 * applyDns adds the DnsZone statuses, and each publishing object's DNSRecordReady/DNSRecordFailed
 * condition (into its parents' conditions for a route, whose status has no top-level ones).
 */
function applyDns(statuses: ObjectStatus[], dns: DnsOutput): void {
  const byKey = new Map(statuses.map((s) => [keyOf(s), s]));
  for (const z of dns.zoneStatuses) {
    const old = byKey.get(keyOf(z));
    if (!old) statuses.push(z);
    else {
      // The translate pass's Accepted (spec problems) is replaced by the DNS step's fuller one.
      const conditions = [...(z.status.conditions ?? [])];
      old.status = { ...z.status, conditions };
    }
  }
  for (const [object, c] of Object.entries(dns.conditions)) {
    const s = byKey.get(object);
    if (!s) continue;
    const add = (list: readonly Condition[] | undefined): Condition[] => {
      const generation = list?.[0]?.observedGeneration;
      const cond = generation !== undefined ? { ...c, observedGeneration: generation } : c;
      return [...(list ?? []).filter((o) => !o.type.startsWith("portico.dev/DNSRecord")), cond].sort(
        (a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0),
      );
    };
    editConditions(s, add);
  }
  statuses.sort(compareStatus);
}

/** usedPools lists the pools a listener or route refers to; pools nothing serves are left out. */
function usedPools(l4: readonly L4Listener[], http: readonly HttpListener[]): Set<string> {
  const used = new Set(l4.map((l) => l.pool));
  for (const l of http) {
    for (const vh of l.virtualHosts) {
      for (const r of vh.routes) {
        if (r.action.type === "Forward") for (const b of r.action.backends) used.add(b.pool);
        for (const f of r.filters ?? []) if (f.type === "RequestMirror") used.add(f.pool);
        // An auth service or default backend named as a Service is dialled through its pool.
        if (r.auth?.external?.pool !== undefined) used.add(r.auth.external.pool);
        if (r.errorPages?.pool !== undefined) used.add(r.errorPages.pool);
      }
    }
    for (const r of l.sniRoutes ?? []) for (const b of r.backends) used.add(b.pool);
  }
  return used;
}

/** usedCertificates lists the certificates an HTTPS listener or a TLS pool (its client certificate) refers to. */
function usedCertificates(http: readonly HttpListener[], pools: Record<string, Pool>): Set<string> {
  const used = new Set<string>();
  for (const p of Object.values(pools)) if (p.tls?.clientCertificate) used.add(p.tls.clientCertificate);
  for (const l of http) {
    for (const s of l.tls?.sni ?? []) used.add(s.certificate);
    if (l.tls?.defaultCertificate) used.add(l.tls.defaultCertificate);
    for (const a of l.tls?.alternates ?? []) used.add(a.certificate);
  }
  return used;
}

/** pick keeps the entries of r whose keys are in keys, in r's order. */
function pick<T>(r: Record<string, T>, keys: Set<string>): Record<string, T> {
  return Object.fromEntries(Object.entries(r).filter(([k]) => keys.has(k)));
}

/** vipCondition renders IPAM's answer as the VIPAllocated condition. */
function vipCondition(r: AllocationResult | undefined, generation: number | undefined): Condition {
  const c: Condition = r?.ok
    ? {
        type: VIP_ALLOCATED,
        status: "True",
        reason: "Allocated",
        message: `${r.addresses.join(", ")} from pool ${[...new Set(r.pools)].join(", ")}`,
      }
    : {
        type: VIP_ALLOCATED,
        status: "False",
        reason: r?.reason ?? "Pending",
        message: r?.message ?? "no answer from IPAM",
      };
  if (generation !== undefined) c.observedGeneration = generation;
  return c;
}

/**
 * mergeStatuses adds, to translation's statuses, each object's VIP (status.loadBalancer) and the
 * VIPAllocated condition, and a status per VipPool. A pending VIP writes an empty loadBalancer so
 * that a stale address is cleared rather than left advertised.
 */
function mergeStatuses(set: ResourceSet, tr: TranslateResult, alloc: AllocateOutput): ObjectStatus[] {
  const byKey = new Map<string, ObjectStatus>();
  for (const s of tr.statuses) {
    const key = keyOf(s);
    // Objects without conditions (Gateway API routes report them per parent) get none added.
    const copy = s.status.conditions
      ? { ...s.status, conditions: [...s.status.conditions] }
      : { ...s.status };
    byKey.set(key, { ...s, status: copy });
  }
  for (const [objKey, vip] of Object.entries(tr.vipOf)) {
    const s = byKey.get(objKey);
    if (!s) continue;
    const r = alloc.results[vip];
    // A Gateway reports its VIP in status.addresses and Programmed, as the Gateway API defines.
    if (s.kind === "Gateway") {
      applyGatewayAllocation(s, r);
      continue;
    }
    const ingress: LoadBalancerIngress[] = r?.ok
      ? r.addresses.map((ip) => (s.kind === "Service" ? { ip, ipMode: "VIP" } : { ip }))
      : [];
    s.status.loadBalancer = ingress.length > 0 ? { ingress } : {};
    const generation = s.status.conditions?.[0]?.observedGeneration;
    const conditions = (s.status.conditions ?? []).filter((c) => c.type !== VIP_ALLOCATED);
    conditions.push(vipCondition(r, generation));
    s.status.conditions = conditions.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  }
  for (const pool of set.vipPools) {
    const ps = alloc.poolStatus[pool.metadata.name];
    if (ps)
      byKey.set(`VipPool/${pool.metadata.name}`, {
        kind: "VipPool",
        name: pool.metadata.name,
        status: { ...ps },
      });
  }
  return [...byKey.values()].sort(compareStatus);
}

/** reportInvalid adds the InputValid=False condition for each invalid object where it is reported. */
function reportInvalid(
  set: ResourceSet,
  statuses: ObjectStatus[],
  invalid: readonly InvalidObject[],
): ObjectStatus[] {
  if (invalid.length === 0) return statuses;
  const byKey = new Map(statuses.map((s) => [keyOf(s), s]));
  for (const o of invalid) {
    for (const target of reportedOn(set, o)) {
      const s = byKey.get(target);
      if (!s) continue;
      const conditions = [...(s.status.conditions ?? [])];
      // On the invalid object itself the condition is about the version just read, not the held one.
      const generation = target === invalidKey(o) ? o.generation : conditions[0]?.observedGeneration;
      // A Secret's message names it; a pool's is on the pool itself.
      const message = o.message;
      const previous = conditions.findIndex((c) => c.type === INPUT_VALID);
      const c: Condition = { type: INPUT_VALID, status: "False", reason: o.reason, message };
      if (generation !== undefined) c.observedGeneration = generation;
      // A Gateway using two bad Secrets reports both in one condition.
      if (previous >= 0) {
        const old = conditions[previous]!;
        conditions[previous] = { ...old, message: `${old.message}; ${message}` };
      } else conditions.push(c);
      s.status = { ...s.status, conditions };
    }
  }
  return statuses;
}

/** applyAnnounceProblems adds each announcement problem as a False condition on its object. */
function applyAnnounceProblems(
  statuses: ObjectStatus[],
  problems: readonly AnnounceProblem[],
): ObjectStatus[] {
  if (problems.length === 0) return statuses;
  const byKey = new Map(statuses.map((s) => [keyOf(s), s]));
  for (const p of problems) {
    const s = byKey.get(p.object);
    if (!s) continue;
    const conditions = (s.status.conditions ?? []).filter((c) => c.type !== p.type);
    const generation = s.status.conditions?.[0]?.observedGeneration;
    const c: Condition = { type: p.type, status: "False", reason: p.reason, message: p.message };
    if (generation !== undefined) c.observedGeneration = generation;
    conditions.push(c);
    s.status = {
      ...s.status,
      conditions: conditions.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)),
    };
  }
  return statuses;
}
