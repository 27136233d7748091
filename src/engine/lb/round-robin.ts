// round-robin.ts: smooth weighted round robin, as nginx does it: each pick adds every usable
// backend's weight to its current score, takes the highest, and subtracts the total from it.
// Picks interleave (weights 5,1,1 give a a b a c a a, not a a a a a b c).
import type { Backend } from "../contracts.ts";
import type { Balancer, PickInput } from "./balancer.ts";

/** RoundRobin is smooth weighted round robin; weight 0 backends never get traffic. */
export class RoundRobin implements Balancer {
  private readonly backends: readonly Backend[];
  private readonly current: Float64Array;

  constructor(backends: readonly Backend[]) {
    this.backends = backends;
    this.current = new Float64Array(backends.length);
  }

  pick(input: PickInput): Backend | undefined {
    const { backends, current } = this;
    let best = -1;
    let total = 0;
    for (let i = 0; i < backends.length; i++) {
      const b = backends[i]!;
      const w = b.endpoint.weight;
      if (w <= 0 || !input.usable(b)) continue;
      current[i]! += w;
      total += w;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    if (best < 0) return undefined;
    current[best]! -= total;
    return backends[best];
  }
}
