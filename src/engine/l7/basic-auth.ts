// basic-auth.ts: HTTP Basic authentication of a route (ingress-nginx auth-type: basic) against
// htpasswd hashes (htpasswd.ts); the engine never sees a plaintext password but the client's.
// bcrypt costs ~8 ms per check at htpasswd's default cost 5 and ~270 ms at cost 10 (measured on a
// loaded 2-core machine; it doubles per cost step): it runs on a thread of its own (bcrypt-pool.ts),
// never on the event loop, and one check runs for many concurrent requests with the same
// credentials. A successful check is remembered for the route: keyed by a SHA-256 of the whole
// Authorization value (the value itself is never kept), bounded, dropped with the snapshot.
// Failures are not cached: a client guessing passwords pays bcrypt's cost on every guess, as
// nginx's auth_basic makes it. Nothing here logs or answers a user name, password or hash.
import { createHash } from "../node-crypto.ts";
import type { BasicAuth } from "../../model/ir.ts";
import { publicText } from "./failure.ts";
import { hashKind } from "../../model/password-hash.ts";
import { bcryptCheckOffThread, bcryptWarm } from "./bcrypt-pool.ts";
import { checkPassword } from "./htpasswd.ts";
import type { Answer, PhaseRequest, RequestHeadersStep } from "./phases.ts";

/** BASIC_AUTH_CACHE bounds the remembered successful checks per route (oldest dropped first). */
export const BASIC_AUTH_CACHE = 1024;

/** basicAuthStep makes the requestHeaders step that lets a request on only with a valid user. */
export function basicAuthStep(b: BasicAuth, route: string): RequestHeadersStep {
  const users = new Map<string, string>();
  for (const u of b.users) users.set(u.user, u.hash);
  // The bcrypt thread starts (and computes Blowfish's tables) when the snapshot is applied.
  if (b.users.some((u) => hashKind(u.hash) === "bcrypt")) bcryptWarm();
  const challenge = [
    { name: "WWW-Authenticate", value: `Basic realm="${b.realm.replace(/["\\]/g, "\\$&")}"` },
  ];
  const refuse = (why: string): Answer => ({
    status: 401,
    body: publicText(401),
    headers: challenge,
    error: `route ${route}: basic auth (${b.source}): ${why}`,
  });
  const passed = new Set<string>();
  const remember = (key: string): undefined => {
    if (passed.size >= BASIC_AUTH_CACHE) passed.delete(passed.values().next().value!);
    passed.add(key);
    return undefined;
  };
  // inflight: the bcrypt check under way per credentials, shared by the requests that carry them.
  const inflight = new Map<string, Promise<boolean>>();
  const wrong = "unknown user or wrong password";
  return (req: PhaseRequest) => {
    const value = req.header("authorization");
    if (value === undefined) return refuse("no credentials");
    const m = /^basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(value);
    if (m === null) return refuse("not Basic credentials");
    const key = createHash("sha256").update(value).digest("base64");
    if (passed.has(key)) return undefined;
    const raw = Buffer.from(m[1]!, "base64");
    const colon = raw.indexOf(0x3a);
    if (colon === -1) return refuse("malformed credentials");
    const hash = users.get(raw.subarray(0, colon).toString("utf8"));
    if (hash === undefined) return refuse(wrong);
    const password = raw.subarray(colon + 1);
    if (hashKind(hash) !== "bcrypt") return checkPassword(password, hash) ? remember(key) : refuse(wrong);
    let check = inflight.get(key);
    if (check === undefined) {
      const started = bcryptCheckOffThread(password, hash);
      if (started === "busy")
        return {
          status: 503,
          body: publicText(503),
          headers: [{ name: "Retry-After", value: "1" }],
          error: `route ${route}: basic auth (${b.source}): too many password checks in flight; the request was refused, not let in`,
        };
      check = started;
      inflight.set(key, check);
      void check.then(() => inflight.delete(key));
    }
    return check.then((ok) => (ok ? remember(key) : refuse(wrong)));
  };
}
