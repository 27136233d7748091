// index.ts: builds the balancer an Algorithm names.
import type { Algorithm } from "../../model/ir.ts";
import type { Backend } from "../contracts.ts";
import type { Balancer, BalancerOptions } from "./balancer.ts";
import { ConsistentHash } from "./consistent-hash.ts";
import { LeastRequest } from "./least-request.ts";
import { RoundRobin } from "./round-robin.ts";

export type { Balancer, BalancerOptions, PickInput } from "./balancer.ts";

/** createBalancer returns a fresh balancer (with its own state) for one pool's backends. */
export function createBalancer(
  algorithm: Algorithm,
  backends: readonly Backend[],
  opts: BalancerOptions = {},
): Balancer {
  switch (algorithm.type) {
    case "RoundRobin":
      return new RoundRobin(backends);
    case "LeastRequest":
      return new LeastRequest(backends, opts);
    case "ConsistentHash":
      return new ConsistentHash(backends, algorithm);
  }
}
