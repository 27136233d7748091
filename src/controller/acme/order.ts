// order.ts: one ACME order with acme-client (RFC 8555: account, order, authorizations, challenge,
// finalize with a CSR, download). Why acme-client: a maintained RFC 8555 client that also makes the
// CSR and the RFC 8737 challenge certificate, neither of which node:crypto can build. Its logger is
// left off, so no token or key authorization is ever logged.
import https from "node:https";
import tls from "node:tls";
import acme from "acme-client";
import type { AcmeChallengeType } from "../../k8s/certificate-issuer.ts";
import type { AcmeChallenges } from "../../model/ir.ts";

/** ChallengeHooks publish and withdraw a challenge answer (the engines serve it). */
export interface ChallengeHooks {
  /** add makes the answer served; resolves once the engines have it (snapshot applied). */
  add(answer: AcmeChallenges): Promise<void>;
  remove(answer: AcmeChallenges): Promise<void>;
}

/** OrderInput is what an order needs. */
export interface OrderInput {
  directoryUrl: string;
  accountKeyPem: string;
  email?: string;
  eab?: { kid: string; hmacKey: string };
  hosts: string[];
  challenge: Exclude<AcmeChallengeType, "DNS01">;
  /** caBundle (PEM) is trusted for this issuer's directory only, besides the system roots. */
  caBundle?: string;
}

/** Issued is a certificate chain and its key, both PEM. */
export interface Issued {
  certPem: string;
  keyPem: string;
  /** accountUrl is the ACME account's URI at the CA (reported in the issuer's status). */
  accountUrl?: string;
}

const TYPE = { HTTP01: "http-01", TLSALPN01: "tls-alpn-01" } as const;

const agents = new Map<string, https.Agent>();

/** agentFor is the HTTPS agent trusting the system roots plus caBundle (one per distinct bundle). */
function agentFor(caBundle: string): https.Agent {
  let a = agents.get(caBundle);
  if (a === undefined) {
    a = new https.Agent({ ca: [...tls.rootCertificates, caBundle], keepAlive: true });
    agents.set(caBundle, a);
  }
  return a;
}

/** TRUST_CODES are the TLS errors of a directory whose certificate the issuer does not trust. */
const TRUST_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * trustPerClient makes one acme-client Client send every request with agent. acme-client keeps a
 * single axios instance for the whole process, so an agent set on its defaults (as this file once
 * did) made one issuer's caBundle trusted for every issuer's directory; a per-request httpsAgent
 * keeps each issuer's trust its own. Every ACME request goes through Client.http.request.
 */
function trustPerClient(client: acme.Client, agent: https.Agent | undefined): void {
  if (agent === undefined) return;
  type Http = { request(url: string, method: string, opts?: Record<string, unknown>): Promise<unknown> };
  const http = (client as unknown as { http: Http }).http;
  const request = http.request.bind(http);
  http.request = (url, method, opts = {}) => request(url, method, { ...opts, httpsAgent: agent });
}

/** trustError rewrites a TLS verification failure into a reason naming the issuer's caBundle. */
function trustError(err: unknown, input: OrderInput): unknown {
  const code = (err as { code?: string; cause?: { code?: string } })?.code;
  if (code === undefined || !TRUST_CODES.has(code)) return err;
  const where = input.caBundle
    ? "this issuer's spec.acme.caBundle"
    : "the system roots (no spec.acme.caBundle)";
  return new Error(
    `ACME directory ${input.directoryUrl} not trusted: ${(err as Error).message} (${code}); its certificate does not verify against ${where}`,
  );
}

/** newAccountKey makes an account key (ECDSA P-256, ES256 JWS). */
export async function newAccountKey(): Promise<string> {
  return (await acme.crypto.createPrivateEcdsaKey("P-256")).toString();
}

/** order obtains a certificate for input.hosts; throws with the CA's problem text on failure. */
export async function order(input: OrderInput, hooks: ChallengeHooks): Promise<Issued> {
  try {
    return await orderOnce(input, hooks);
  } catch (err) {
    throw trustError(err, input);
  }
}

/**
 * checkDirectory fetches the directory once with the issuer's trust. acme-client retries a request
 * that got no answer five times over 75 s and then loses the error's code, so a directory whose
 * certificate does not verify is caught here, at once and with its TLS reason.
 */
function checkDirectory(url: string, agent: https.Agent | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...(agent ? { agent } : {}), timeout: 15_000 }, (res) => {
      res.resume();
      resolve();
    });
    req.on("timeout", () => req.destroy(new Error(`ACME directory ${url}: no answer in 15 s`)));
    req.on("error", (e: Error & { code?: string }) =>
      TRUST_CODES.has(e.code ?? "") ? reject(e) : resolve(),
    );
  });
}

async function orderOnce(input: OrderInput, hooks: ChallengeHooks): Promise<Issued> {
  const agent = input.caBundle ? agentFor(input.caBundle) : undefined;
  await checkDirectory(input.directoryUrl, agent);
  const client = new acme.Client({
    directoryUrl: input.directoryUrl,
    accountKey: input.accountKeyPem,
    // Poll quickly: a CA like Pebble validates within a second; the defaults wait 5 s first.
    backoffAttempts: 12,
    backoffMin: 200,
    backoffMax: 5_000,
    ...(input.eab ? { externalAccountBinding: input.eab } : {}),
  });
  trustPerClient(client, agent);
  const [key, csr] = await acme.crypto.createCsr(
    { commonName: input.hosts[0]!, altNames: input.hosts },
    await acme.crypto.createPrivateEcdsaKey("P-256"),
  );
  const type = TYPE[input.challenge];
  const answerOf = async (
    authz: { identifier: { value: string } },
    keyAuthorization: string,
    token: string,
  ): Promise<AcmeChallenges> => {
    if (type === "http-01") return { http01: [{ token, keyAuthorization }] };
    const [k, cert] = await acme.crypto.createAlpnCertificate(authz as never, keyAuthorization);
    return {
      tlsAlpn01: [{ hostname: authz.identifier.value, certPem: cert.toString(), keyPem: k.toString() }],
    };
  };
  const published = new Map<string, AcmeChallenges>();
  const cert = await client.auto({
    csr,
    ...(input.email ? { email: input.email } : {}),
    termsOfServiceAgreed: true,
    challengePriority: [type],
    // acme-client's own check fetches the name from here; the CA's check is the one that counts.
    skipChallengeVerification: true,
    challengeCreateFn: async (authz, challenge, keyAuthorization) => {
      const answer = await answerOf(authz, keyAuthorization, (challenge as { token: string }).token);
      published.set(authz.identifier.value, answer);
      await hooks.add(answer);
    },
    challengeRemoveFn: async (authz) => {
      const answer = published.get(authz.identifier.value);
      published.delete(authz.identifier.value);
      if (answer) await hooks.remove(answer);
    },
  });
  let accountUrl: string | undefined;
  try {
    accountUrl = client.getAccountUrl();
  } catch {
    // No account URL known (cannot happen after auto); the status then says "registered".
  }
  return { certPem: cert.toString(), keyPem: key.toString(), ...(accountUrl ? { accountUrl } : {}) };
}
