// access.ts: an AccessPolicy as a requestHeaders step (phases.ts), run ahead of the route's
// filters on HTTP/1.1 and HTTP/2 alike. In order:
//   1. deny list: a client address in it gets 403 (deny wins over allow);
//   2. allow list: when non-empty, a client address not in it gets 403 (so does an address that
//      cannot be parsed: an allow list fails closed; a deny list alone cannot match it);
//   3. rate limit: a token bucket per key (net/token-bucket.ts) — the client address, or the value
//      of a header (requests without it share one bucket, "absent", so leaving the header out is
//      no way around the limit). Past it: 429 with Retry-After in whole seconds, rounded up.
//   4. concurrency (ingress-nginx limit-connections): a slot per request in flight per client
//      address, given back when the exchange ends (PhaseRequest.atEnd); past it 503, as nginx's
//      limit_conn answers. Clients in `exempt` skip 3 and 4 (limit-whitelist).
// A "Shared" rate-limit key or concurrencyKey counts every request of the config's routes
// together, whoever sends it: a tenant's requestsPerSecond and connections quotas (issue 19).
// The client address is the TCP peer's (Portico's HTTP listeners take no PROXY protocol from
// clients yet), IPv4-mapped IPv6 counted as the IPv4 address; IPv6 clients count per address.
//
// The buckets are local to the engine process, as the IR says: with `--workers N` each worker has
// its own, and the kernel spreads connections over workers by a hash of the addresses, so a client
// spread over several connections can get up to N times the rate (DNS RRL has the same property).
// They are shared by every route of one policy (an AccessPolicy on a Gateway limits the client
// across its routes) and survive a snapshot that leaves the policy's rate limit as it was: the
// state is keyed by policy name and limit, held weakly, and goes once no compiled route uses it.
//
// Draft RateLimit headers (draft-ietf-httpapi-ratelimit-headers) are not sent: their quota/window
// model does not say what a token bucket with a burst allows, and the draft is still changing.
import type { AccessConfig, RateLimit } from "../../model/ir.ts";
import { CidrError, CidrSet, parseAddress } from "../net/cidr.ts";
import { TokenBuckets } from "../net/token-bucket.ts";
import { accessDenied, type AccessDeniedEvent } from "./events.ts";
import { publicText } from "./failure.ts";
import type { Answer, PhaseRequest, SyncRequestHeadersStep } from "./phases.ts";

/** MAX_KEY_CHARS bounds a header value used as a rate-limit key (longer ones are cut to it). */
export const MAX_KEY_CHARS = 128;

// ABSENT keys the requests without the header: no header value can hold a NUL.
const ABSENT = "\0";
// SHARED keys every request of a "Shared" limit (a tenant's quota): no address or header is "\0\0".
const SHARED = "\0\0";

// words is the scratch parseAddress fills; every use finishes before the next begins.
const words = new Uint32Array(4);

/** AccessConfigError says why an AccessConfig cannot run; the engine NACKs the snapshot. */
export class AccessConfigError extends Error {
  readonly code = "InvalidAccessPolicy";
}

/**
 * compileAccess makes the requestHeaders step of route's access policy a, or undefined when a asks
 * for nothing; an AccessConfigError names the route, the policy and the bad field.
 */
export function compileAccess(a: AccessConfig, route: string): SyncRequestHeadersStep | undefined {
  try {
    return compile(a);
  } catch (err) {
    if (err instanceof AccessConfigError) throw new AccessConfigError(`route ${route}: ${err.message}`);
    throw err;
  }
}

function compile(a: AccessConfig): SyncRequestHeadersStep | undefined {
  const deny = cidrs(a, "deny");
  const allow = cidrs(a, "allow");
  const rl = a.rateLimit;
  const buckets = rl === undefined ? undefined : sharedBuckets(a.policy, rl);
  const slots = a.concurrency === undefined ? undefined : sharedSlots(a.policy, a.concurrency);
  if (deny === undefined && allow === undefined && buckets === undefined && slots === undefined)
    return undefined;
  const exempt = cidrs(a, "exempt");
  const policy = a.policy;
  const limits = limitsStep(policy, rl, buckets, slots, exempt, a.concurrencyKey === "Shared");
  // A keep-alive connection sends its requests from one address: remember the last verdict.
  let lastIp: string | undefined;
  let lastVerdict: "deny" | "not_allowed" | undefined;
  const verdict = (ip: string): "deny" | "not_allowed" | undefined => {
    if (ip === lastIp) return lastVerdict;
    const family = parseAddress(ip, words);
    lastIp = ip;
    if (deny?.has(family, words)) lastVerdict = "deny";
    else if (allow !== undefined && !allow.has(family, words)) lastVerdict = "not_allowed";
    else lastVerdict = undefined;
    return lastVerdict;
  };
  if (deny === undefined && allow === undefined) return limits;
  return (req) => {
    const ip = req.clientIp();
    const v = verdict(ip);
    if (v !== undefined) {
      const why = v === "deny" ? "is in the deny list" : "not allowed";
      return refuse(req, policy, v, 403, `denied by ${policy}: client ${ip} ${why}`);
    }
    return limits?.(req);
  };
}

// limitsStep is the rate limit and concurrency part of a config, or undefined when it has neither.
function limitsStep(
  policy: string,
  rl: RateLimit | undefined,
  buckets: TokenBuckets | undefined,
  slots: Slots | undefined,
  exempt: CidrSet | undefined,
  shared: boolean,
): SyncRequestHeadersStep | undefined {
  if (buckets === undefined && slots === undefined) return undefined;
  const header = rl?.key.type === "Header" ? rl.key.name.toLowerCase() : undefined;
  return (req) => {
    if (exempt !== undefined && exempt.has(parseAddress(req.clientIp(), words), words)) return undefined;
    if (buckets !== undefined) {
      const a = rateLimited(req, policy, rl!, buckets, header);
      if (a !== undefined) return a;
    }
    if (slots === undefined) return undefined;
    const key = shared ? SHARED : clientKey(req.clientIp());
    if (!slots.take(key))
      return refuse(
        req,
        policy,
        "concurrency",
        503,
        `limited by ${policy}: ${shared ? "its routes have" : `client ${key} has`} ${slots.max} requests in flight already`,
      );
    const prev = req.atEnd;
    req.atEnd = prev === undefined ? () => slots.give(key) : () => (prev(), slots.give(key));
    return undefined;
  };
}

// rateLimited spends a token of the request's key, or answers 429 when there is none.
function rateLimited(
  req: PhaseRequest,
  policy: string,
  rl: RateLimit,
  buckets: TokenBuckets,
  header: string | undefined,
): Answer | undefined {
  let key: string;
  if (rl.key.type === "Shared") key = SHARED;
  else if (header === undefined) key = clientKey(req.clientIp());
  else {
    const v = req.header(header);
    key = v === undefined ? ABSENT : v.length > MAX_KEY_CHARS ? v.slice(0, MAX_KEY_CHARS) : v;
  }
  const waitMs = buckets.take(key);
  if (waitMs === 0) return undefined;
  // The header's value stays out of the logs: it may be a credential (an API key).
  const whose =
    key === SHARED
      ? "all requests of its routes"
      : header === undefined
        ? `client ${key}`
        : key === ABSENT
          ? `requests without header ${header}`
          : `header ${header}`;
  const answer = refuse(
    req,
    policy,
    "rate_limited",
    429,
    `rate limited by ${policy}: over ${rl.requests} requests per ${rl.periodMs} ms (burst ${rl.burst}) for ${whose}`,
  );
  answer.headers = [{ name: "Retry-After", value: String(retryAfterSeconds(waitMs)) }];
  return answer;
}

/** retryAfterSeconds is Retry-After for a wait of ms: whole seconds, rounded up, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

// refuse publishes the refusal for metrics and makes its answer; error is for the access log.
function refuse(
  req: PhaseRequest,
  policy: string,
  reason: AccessDeniedEvent["reason"],
  status: number,
  error: string,
): Answer {
  if (accessDenied.hasSubscribers)
    accessDenied.publish({ listener: req.rt.listener.name, policy, reason } satisfies AccessDeniedEvent);
  return { status, body: publicText(status), error };
}

// clientKey is the rate-limit key of a client address: IPv4-mapped IPv6 as the IPv4 address.
function clientKey(ip: string): string {
  if (ip.charCodeAt(0) !== 58 /* ":" */ || parseAddress(ip, words) !== 4) return ip;
  const v = words[3]!;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function cidrs(a: AccessConfig, which: "allow" | "deny" | "exempt"): CidrSet | undefined {
  const list = a[which];
  if (list === undefined || list.length === 0) return undefined;
  try {
    return CidrSet.of(list);
  } catch (err) {
    if (err instanceof CidrError) throw new AccessConfigError(`${a.policy}: ${which}: ${err.message}`);
    throw err;
  }
}

// shared holds the live TokenBuckets by policy and limit; a compiled route holds its own strongly,
// so the state lives exactly as long as a snapshot that uses it (old or new) is compiled.
const shared = new Map<string, WeakRef<TokenBuckets>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (shared.get(key)?.deref() === undefined) shared.delete(key);
});

/** sharedBuckets returns the buckets of policy's limit rl: the same object while rl is unchanged. */
export function sharedBuckets(policy: string, rl: RateLimit): TokenBuckets {
  const { requests, periodMs, burst } = rl;
  for (const [name, v] of [
    ["requests", requests],
    ["periodMs", periodMs],
    ["burst", burst],
  ] as const) {
    if (!Number.isFinite(v) || v < 1)
      throw new AccessConfigError(`${policy}: rateLimit.${name} must be at least 1, got ${v}`);
  }
  if (rl.key.type === "Header" && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(rl.key.name))
    throw new AccessConfigError(
      `${policy}: rateLimit key header ${JSON.stringify(rl.key.name)} is not a header name`,
    );
  const key = JSON.stringify([
    policy,
    requests,
    periodMs,
    burst,
    rl.key.type,
    rl.key.type === "Header" ? rl.key.name.toLowerCase() : "",
  ]);
  const live = shared.get(key)?.deref();
  if (live !== undefined) return live;
  const made = new TokenBuckets({ requests, periodMs, burst });
  shared.set(key, new WeakRef(made));
  forget.register(made, key);
  return made;
}

/** Slots counts one config's requests in flight per client key (AccessConfig.concurrency). */
export class Slots {
  readonly max: number;
  readonly #held = new Map<string, number>();

  constructor(max: number) {
    this.max = max;
  }

  /** take holds a slot for key, false when key holds max already. */
  take(key: string): boolean {
    const n = this.#held.get(key) ?? 0;
    if (n >= this.max) return false;
    this.#held.set(key, n + 1);
    return true;
  }

  /** give returns a slot of key (the map drops a key at zero, so it stays as small as the clients in flight). */
  give(key: string): void {
    const n = (this.#held.get(key) ?? 0) - 1;
    if (n <= 0) this.#held.delete(key);
    else this.#held.set(key, n);
  }

  /** held is the slots key holds now. */
  held(key: string): number {
    return this.#held.get(key) ?? 0;
  }
}

// Slots are shared like buckets, by policy and limit, so a snapshot that keeps the limit keeps the
// counts of requests still in flight (their release goes to the object they took a slot from).
const sharedSlotSets = new Map<string, WeakRef<Slots>>();
const forgetSlots = new FinalizationRegistry<string>((key) => {
  if (sharedSlotSets.get(key)?.deref() === undefined) sharedSlotSets.delete(key);
});

/** sharedSlots returns the Slots of policy's concurrency limit max: the same object while max is unchanged. */
export function sharedSlots(policy: string, max: number): Slots {
  if (!Number.isInteger(max) || max < 1)
    throw new AccessConfigError(`${policy}: concurrency must be a whole number of at least 1, got ${max}`);
  const key = JSON.stringify([policy, max]);
  const live = sharedSlotSets.get(key)?.deref();
  if (live !== undefined) return live;
  const made = new Slots(max);
  sharedSlotSets.set(key, new WeakRef(made));
  forgetSlots.register(made, key);
  return made;
}
