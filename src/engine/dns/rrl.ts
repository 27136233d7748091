// rrl.ts: response-rate limiting, so the server cannot be used to amplify a spoofed flood. Each
// client network (/24 for IPv4, /56 for IPv6: what one site or customer typically holds) has a
// token bucket of responsesPerSecond tokens per second, holding one second's worth. A response
// over the rate is dropped, except every slip-th one, which goes out as a bare truncated answer
// (TC=1, no records): a real client behind a spoofed address then retries over TCP, which is not
// limited (a TCP client proved its address). slip 0 drops them all; 1 slips them all.
import { isIPv4 } from "node:net";
import { ipv6Bytes } from "./zone.ts";

/** RateVerdict is what to do with one UDP response. */
export type RateVerdict = "send" | "slip" | "drop";

interface Bucket {
  tokens: number;
  last: number;
  limited: number;
}

/** MAX_BUCKETS bounds the table; past it, idle buckets (full again) are forgotten. */
const MAX_BUCKETS = 100_000;

/** clientNetwork is the key rate limiting counts under: the /24 or /56 holding address. */
export function clientNetwork(address: string): string {
  const v4 = address.startsWith("::ffff:") && isIPv4(address.slice(7)) ? address.slice(7) : address;
  if (isIPv4(v4)) return v4.slice(0, v4.lastIndexOf("."));
  try {
    return ipv6Bytes(address).subarray(0, 7).toString("hex");
  } catch {
    return address;
  }
}

/** RateLimiter is the per-server response-rate limiter; now is injectable for tests. */
export class RateLimiter {
  readonly rate: number;
  readonly slip: number;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(rate: number, slip: number, now: () => number = Date.now) {
    this.rate = rate;
    this.slip = slip;
    this.now = now;
  }

  /** check spends a token of address's network, or says how the response is limited. */
  check(address: string): RateVerdict {
    const key = clientNetwork(address);
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= MAX_BUCKETS) this.sweep(now);
      b = { tokens: this.rate, last: now, limited: 0 };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.rate, b.tokens + ((now - b.last) * this.rate) / 1000);
      b.last = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return "send";
    }
    b.limited++;
    return this.slip > 0 && b.limited % this.slip === 0 ? "slip" : "drop";
  }

  /** size is the number of networks tracked. */
  get size(): number {
    return this.buckets.size;
  }

  // sweep forgets networks whose bucket has refilled (quiet for a second); if all are busy, all.
  private sweep(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.last >= 1000) this.buckets.delete(k);
    if (this.buckets.size >= MAX_BUCKETS) this.buckets.clear();
  }
}
