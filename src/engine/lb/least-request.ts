// least-request.ts: power of two random choices. Two random usable backends are drawn (weighted),
// the one with fewer requests in flight per unit of weight wins. This avoids the herd effect of a
// global "least" while staying O(n) only in the rare case most backends are unusable.
import type { Backend } from "../contracts.ts";
import type { Balancer, BalancerOptions, PickInput } from "./balancer.ts";

/** LeastRequest is P2C over in-flight requests, weight-aware; random source injectable. */
export class LeastRequest implements Balancer {
  private readonly backends: readonly Backend[];
  private readonly random: () => number;
  /** cumulative weights, so a random draw is proportional to weight. */
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(backends: readonly Backend[], opts: BalancerOptions = {}) {
    this.backends = backends;
    this.random = opts.random ?? Math.random;
    this.cumulative = new Float64Array(backends.length);
    let sum = 0;
    for (let i = 0; i < backends.length; i++) {
      sum += Math.max(0, backends[i]!.endpoint.weight);
      this.cumulative[i] = sum;
    }
    this.total = sum;
  }

  pick(input: PickInput): Backend | undefined {
    if (this.total <= 0) return undefined;
    const a = this.draw(input);
    if (!a) return undefined;
    const b = this.draw(input) ?? a;
    const la = input.load(a) / a.endpoint.weight;
    const lb = input.load(b) / b.endpoint.weight;
    return lb < la ? b : a;
  }

  /** draw picks a usable backend at random by weight; a few tries, then a scan from a random start. */
  private draw(input: PickInput): Backend | undefined {
    for (let tries = 0; tries < 4; tries++) {
      const b = this.backends[this.index(this.random() * this.total)]!;
      if (b.endpoint.weight > 0 && input.usable(b)) return b;
    }
    const n = this.backends.length;
    const start = Math.floor(this.random() * n) % n;
    for (let k = 0; k < n; k++) {
      const b = this.backends[(start + k) % n]!;
      if (b.endpoint.weight > 0 && input.usable(b)) return b;
    }
    return undefined;
  }

  /** index finds the backend whose cumulative weight range holds x (binary search). */
  private index(x: number): number {
    const c = this.cumulative;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
