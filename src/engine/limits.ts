// limits.ts: the engine-wide resource limits (`portico run` flags) and their defaults. The
// connection cap defaults to a share of the process's open-file limit: every proxied connection
// costs a client descriptor and, while a request is in flight, a backend one, and the process
// needs more for backends' idle keep-alive pool, listeners, the admin API and logs. Past the
// open-file limit accept() fails with EMFILE and libuv resets connections without a word (measured
// before caps existed: 28 % of ordinary requests reset); below it a refusal is counted and logged.
import { readFileSync } from "node:fs";

/** EngineLimits bound what the engine takes on; 0 switches a cap or rate off. */
export interface EngineLimits {
  /** maxConnections caps the client connections of one engine process, all listeners together. */
  maxConnections: number;
  /** maxConnectionsPerListener caps the client connections of each listener (0: only the engine cap). */
  maxConnectionsPerListener: number;
  /** connectionRatePerClient caps new connections per second from one client address (0: off). */
  connectionRatePerClient: number;
  /** requestBodyBufferBytes is the default of Route.requestBodyBufferBytes (0: stream at once). */
  requestBodyBufferBytes: number;
  /** requestBodyTimeoutMs is the default of Route.requestBodyTimeoutMs. */
  requestBodyTimeoutMs: number;
}

/** DEFAULT_BODY_BUFFER_BYTES is the default request-body buffer: 64 KiB, like one socket read. */
export const DEFAULT_BODY_BUFFER_BYTES = 64 * 1024;
/** DEFAULT_BODY_TIMEOUT_MS bounds the buffered part of a request body: 60 s, nginx's client_body_timeout. */
export const DEFAULT_BODY_TIMEOUT_MS = 60_000;

/** openFileLimit reads the soft RLIMIT_NOFILE (Node raises it to the hard limit at start), or undefined. */
export function openFileLimit(procLimits = "/proc/self/limits"): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(procLimits, "utf8"));
    if (m === null) return undefined;
    return m[1] === "unlimited" ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * defaultMaxConnections is half of the open-file limit after a reserve (a quarter of it, at most
 * 1024 descriptors) for listeners, idle backend connections, the admin API and logs; a client
 * connection and its backend connection take the two halves. Unknown limit: 4096 descriptors.
 */
export function defaultMaxConnections(nofile = openFileLimit() ?? 4096): number {
  const reserve = Math.min(1024, Math.floor(nofile / 4));
  return Math.max(16, Math.floor((nofile - reserve) / 2));
}

/** defaultEngineLimits are the limits of an engine given none. */
export function defaultEngineLimits(): EngineLimits {
  return {
    maxConnections: defaultMaxConnections(),
    maxConnectionsPerListener: 0,
    connectionRatePerClient: 0,
    requestBodyBufferBytes: DEFAULT_BODY_BUFFER_BYTES,
    requestBodyTimeoutMs: DEFAULT_BODY_TIMEOUT_MS,
  };
}

/** LIMITS_ENV carries the limits set by flags from `portico run` to its worker processes (JSON). */
export const LIMITS_ENV = "PORTICO_ENGINE_LIMITS";

/**
 * workerLimits is one worker's share of limits set for a group of n: connection caps and the
 * per-client rate are split (the kernel spreads connections over the workers by a hash of the
 * addresses), a cap left to its default is per process already (each has its own open-file limit).
 */
export function workerLimits(set: Partial<EngineLimits>, n: number): Partial<EngineLimits> {
  const share = (v: number | undefined) => (v === undefined || v === 0 ? v : Math.max(1, Math.ceil(v / n)));
  const out: Partial<EngineLimits> = { ...set };
  for (const k of ["maxConnections", "maxConnectionsPerListener", "connectionRatePerClient"] as const) {
    const v = share(set[k]);
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}
