// http01.ts: the engine's half of ACME HTTP-01 (RFC 8555 §8.3). Every HTTP listener answers
// `GET /.well-known/acme-challenge/TOKEN` for the tokens the controller pushed, before routing,
// so the CA's validation succeeds on whichever engine and listener its request reaches, with or
// without a route for the host. Other tokens fall through to routing (a backend may run its own).
import type { AcmeChallenges } from "../../model/ir.ts";

/** ACME_CHALLENGE_PREFIX is the path prefix RFC 8555 §8.3 reserves for HTTP-01 tokens. */
export const ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

/** Http01Table maps a token to its key authorization. */
export type Http01Table = ReadonlyMap<string, string>;

/** http01Table indexes a snapshot's HTTP-01 challenges; undefined when there are none. */
export function http01Table(acme: AcmeChallenges | undefined): Http01Table | undefined {
  const list = acme?.http01;
  if (list === undefined || list.length === 0) return undefined;
  return new Map(list.map((c) => [c.token, c.keyAuthorization]));
}

/** http01Answer is the key authorization for a GET/HEAD of a pushed token's path, else undefined. */
export function http01Answer(
  table: Http01Table | undefined,
  method: string,
  path: string,
): string | undefined {
  if (table === undefined || !path.startsWith(ACME_CHALLENGE_PREFIX)) return undefined;
  if (method !== "GET" && method !== "HEAD") return undefined;
  return table.get(path.slice(ACME_CHALLENGE_PREFIX.length));
}
