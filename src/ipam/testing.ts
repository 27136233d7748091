// testing.ts: story tables for the allocator tests, in MetalLB's style. Each row changes the world
// (requests, pools), calls allocate() on the state the previous row left, and checks what it got.
// Every call runs on deep-frozen inputs and is repeated with shuffled request order.
import assert from "node:assert/strict";
import type { Namespace } from "../k8s/types.ts";
import type { VipPool, VipPoolSpec } from "../k8s/vip-pool.ts";
import { allocate } from "./allocate.ts";
import { parseIp } from "./address.ts";
import type { AllocateInput, AllocateOutput, AllocationState, PortClaim, VipRequest } from "./types.ts";

/** pool builds a VipPool. */
export function pool(name: string, addresses: string[], spec: Partial<VipPoolSpec> = {}): VipPool {
  return {
    apiVersion: "portico.dev/v1alpha1",
    kind: "VipPool",
    metadata: { name },
    spec: { addresses, ...spec },
  };
}

/** namespace builds a Namespace with labels. */
export function namespace(name: string, labels: Record<string, string> = {}): Namespace {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } };
}

/** tcp and udp build port claims. */
export const tcp = (port: number): PortClaim => ({ port, protocol: "TCP" });
/** udp builds a UDP port claim. */
export const udp = (port: number): PortClaim => ({ port, protocol: "UDP" });

/** req builds a request for "Service/<ns>/<name>" (key "ns/name"); order defaults to the key. */
export function req(nsName: string, extra: Partial<VipRequest> = {}): VipRequest {
  const [ns = "default", name = nsName] = nsName.includes("/") ? nsName.split("/") : ["default", nsName];
  const key = `Service/${ns}/${name}`;
  return {
    key,
    namespace: ns,
    labels: {},
    requested: [],
    ports: [tcp(80)],
    families: ["IPv4"],
    familyPolicy: "SingleStack",
    order: key,
    ...extra,
  };
}

/** deepFreeze freezes an object graph so any write by allocate() throws (ES modules are strict). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Want is what a row expects for one key: its addresses, a failure reason, or "reason: message". */
export type Want = string[] | string;

/** Row is one step of a story. */
export interface Row {
  desc: string;
  /** set adds or replaces requests (by key). */
  set?: VipRequest[];
  /** del removes request keys (Service deleted, type changed, class changed). */
  del?: string[];
  /** pools replaces the pool list. */
  pools?: VipPool[];
  namespaces?: Namespace[];
  /** restart drops the in-memory state and continues from a JSON round-trip of it (a restart). */
  restart?: boolean;
  want: Record<string, Want>;
  check?: (out: AllocateOutput) => void;
}

/** mulberry32 is a tiny seeded PRNG so shuffles are reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** shuffle returns a seeded permutation of a list. */
export function shuffle<T>(list: readonly T[], rand: () => number): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** checkInvariants asserts what must hold after any call: results match state, addresses lie in
 * their pools' ranges, and an address is held twice only by one sharing key without port clash. */
export function checkInvariants(input: AllocateInput, out: AllocateOutput): void {
  const holders = new Map<string, string[]>();
  for (const r of input.requests) {
    const res = out.results[r.key];
    assert.ok(res, `no result for ${r.key}`);
    assert.equal(res.ok, out.state[r.key] !== undefined, `${r.key}: result and state disagree`);
    if (!res.ok) continue;
    res.addresses.forEach((a) => holders.set(a, [...(holders.get(a) ?? []), r.key]));
  }
  assert.deepEqual(
    Object.keys(out.state).sort(),
    Object.keys(out.state)
      .filter((k) => out.results[k]?.ok)
      .sort(),
  );
  for (const [addr, keys] of holders) {
    if (keys.length < 2) continue;
    const reqs = keys.map((k) => input.requests.find((r) => r.key === k) as VipRequest);
    const sk = reqs[0]?.sharingKey;
    assert.ok(
      sk !== undefined && reqs.every((r) => r.sharingKey === sk),
      `${addr} held by ${keys.join(", ")}`,
    );
    const claims = reqs.flatMap((r) => r.ports.map((p) => `${p.port}/${p.protocol}`));
    assert.equal(new Set(claims).size, claims.length, `${addr}: port clash among ${keys.join(", ")}`);
  }
  for (const a of Object.values(out.state)) for (const addr of a.addresses) assert.ok(parseIp(addr), addr);
}

/** runStory plays the rows in order and returns the final output. */
export function runStory(
  initialPools: VipPool[],
  rows: Row[],
  initialNamespaces: Namespace[] = [],
): AllocateOutput {
  const requests = new Map<string, VipRequest>();
  let pools = initialPools;
  let namespaces = initialNamespaces;
  let previous: AllocationState = {};
  let out: AllocateOutput | undefined;
  const rand = mulberry32(7);
  for (const row of rows) {
    for (const r of row.set ?? []) requests.set(r.key, r);
    for (const k of row.del ?? []) requests.delete(k);
    if (row.pools) pools = row.pools;
    if (row.namespaces) namespaces = row.namespaces;
    if (row.restart) previous = JSON.parse(JSON.stringify(previous)) as AllocationState;
    const input: AllocateInput = structuredClone({
      requests: [...requests.values()],
      pools,
      namespaces,
      previous,
    });
    const pristine = structuredClone(input);
    const result = allocate(deepFreeze(input));
    out = result;
    assert.deepEqual(input, pristine, `${row.desc}: input was mutated`);
    checkInvariants(input, result);
    for (let i = 0; i < 2; i++) {
      const shuffled = {
        ...input,
        requests: shuffle(input.requests, rand),
        pools: shuffle(input.pools, rand),
      };
      assert.deepEqual(allocate(shuffled), result, `${row.desc}: result depends on input order`);
    }
    for (const [key, want] of Object.entries(row.want)) {
      const res = result.results[key];
      assert.ok(res, `${row.desc}: no result for ${key}`);
      const got = res.ok
        ? res.addresses
        : typeof want === "string" && want.includes(": ")
          ? `${res.reason}: ${res.message}`
          : res.reason;
      assert.deepEqual(got, want, `${row.desc}: ${key}`);
    }
    row.check?.(result);
    previous = result.state;
  }
  assert.ok(out, "a story needs at least one row");
  return out;
}
