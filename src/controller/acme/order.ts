// order.ts: one ACME order with acme-client (RFC 8555: account, order, authorizations, challenge,
// finalize with a CSR, download). Why acme-client: a maintained RFC 8555 client that also makes the
// CSR and the RFC 8737 challenge certificate, neither of which node:crypto can build. Its logger is
// left off, so no token or key authorization is ever logged.
import https from "node:https";
import tls from "node:tls";
import acme from "acme-client";
import type { AcmeChallengeType } from "../../k8s/certificate-issuer.ts";
import type { AcmeChallenges } from "../../model/ir.ts";
import type { AcmeTxt } from "../../translate/acme-txt.ts";

/** ChallengeAnswers are one order's answers: the engines' (HTTP-01, TLS-ALPN-01) and DNS-01 TXT records. */
export interface ChallengeAnswers extends AcmeChallenges {
  /** dns01: `_acme-challenge.<name>` TXT records (RFC 8555 §8.4), published in Portico's zones. */
  dns01?: AcmeTxt[];
}

/** ChallengeHooks publish and withdraw a challenge answer (the engines serve it). */
export interface ChallengeHooks {
  /** add makes the answers served; resolves once the engines have them (snapshot applied). */
  add(answer: ChallengeAnswers): Promise<void>;
  remove(answer: ChallengeAnswers): Promise<void>;
}

/** OrderInput is what an order needs. */
export interface OrderInput {
  directoryUrl: string;
  accountKeyPem: string;
  email?: string;
  eab?: { kid: string; hmacKey: string };
  hosts: string[];
  challenge: AcmeChallengeType;
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

const TYPE = { HTTP01: "http-01", TLSALPN01: "tls-alpn-01", DNS01: "dns-01" } as const;

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

/**
 * order obtains a certificate for input.hosts; throws with the CA's problem text on failure. Every
 * authorization's answer is published in one go and the CA is told to validate only once all are
 * served: a wildcard and its apex share one DNS-01 name, and a caching resolver that saw one value
 * alone would fail the other authorization.
 */
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
  await client.createAccount({
    termsOfServiceAgreed: true,
    ...(input.email ? { contact: [`mailto:${input.email}`] } : {}),
  });
  const placed = await client.createOrder({
    identifiers: input.hosts.map((value) => ({ type: "dns", value })),
  });
  const type = TYPE[input.challenge];
  const pending = (await client.getAuthorizations(placed))
    .filter((a) => a.status !== "valid")
    .map((authz) => {
      const challenge = authz.challenges.find((c) => c.type === type);
      if (!challenge)
        throw new Error(
          `the CA offers no ${type} challenge for ${authz.wildcard ? "*." : ""}${authz.identifier.value}`,
        );
      return { authz, challenge };
    });
  const answers: ChallengeAnswers = {};
  for (const { authz, challenge } of pending) {
    // acme-client gives DNS-01 the record's value: base64url(SHA-256(key authorization)).
    const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
    const name = authz.identifier.value;
    if (type === "http-01") (answers.http01 ??= []).push({ token: challenge.token, keyAuthorization });
    else if (type === "dns-01")
      (answers.dns01 ??= []).push({ name: `_acme-challenge.${name}`, value: keyAuthorization });
    else {
      const [k, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
      (answers.tlsAlpn01 ??= []).push({ hostname: name, certPem: cert.toString(), keyPem: k.toString() });
    }
  }
  if (pending.length > 0) {
    try {
      await hooks.add(answers);
    } catch (err) {
      // Never validated: give the authorizations back rather than leave them pending at the CA.
      await Promise.allSettled(pending.map((p) => client.deactivateAuthorization(p.authz)));
      await hooks.remove(answers);
      throw err;
    }
    try {
      await Promise.all(
        pending.map(async ({ challenge }) => {
          await client.completeChallenge(challenge);
          await client.waitForValidStatus(challenge);
        }),
      );
    } finally {
      await hooks.remove(answers);
    }
  }
  const finalized = await client.finalizeOrder(placed, csr);
  const cert = await client.getCertificate(finalized);
  let accountUrl: string | undefined;
  try {
    accountUrl = client.getAccountUrl();
  } catch {
    // No account URL known (cannot happen after createAccount); the status then says "registered".
  }
  return { certPem: cert.toString(), keyPem: key.toString(), ...(accountUrl ? { accountUrl } : {}) };
}
