// balancer.ts: the one interface every load-balancing algorithm implements.
// A Balancer is built per pool and per snapshot over the pool's backends; what changes between
// picks (health, exclusions, in-flight counts) comes in through PickInput, so algorithms stay pure.
import type { Algorithm } from "../../model/ir.ts";
import type { Backend, PickContext } from "../contracts.ts";

/** PickInput is what a pick may consult besides the client context. */
export interface PickInput {
  ctx: PickContext;
  /** usable says whether a backend may take traffic now (health and ctx.exclude already applied). */
  usable: (b: Backend) => boolean;
  /** load returns the requests in flight on a backend (least-request). */
  load: (b: Backend) => number;
}

/** Balancer picks one backend of a fixed list; undefined when none is usable. */
export interface Balancer {
  pick(input: PickInput): Backend | undefined;
}

/** BalancerOptions are the seams tests inject. */
export interface BalancerOptions {
  /** random returns a float in [0, 1); defaults to Math.random. */
  random?: () => number;
}

/** BalancerFactory builds a balancer for one pool's backends. */
export type BalancerFactory = (
  algorithm: Algorithm,
  backends: readonly Backend[],
  opts?: BalancerOptions,
) => Balancer;
