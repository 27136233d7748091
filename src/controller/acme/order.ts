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
}

/** Issued is a certificate chain and its key, both PEM. */
export interface Issued {
  certPem: string;
  keyPem: string;
}

const TYPE = { HTTP01: "http-01", TLSALPN01: "tls-alpn-01", DNS01: "dns-01" } as const;

/** trustCas makes acme-client's HTTP client trust the system roots plus the issuers' caBundles. */
export function trustCas(bundles: readonly string[]): void {
  // acme-client shares one axios instance; the union of bundles is trusted for every directory.
  acme.axios.defaults.httpsAgent =
    bundles.length === 0 ? undefined : new https.Agent({ ca: [...tls.rootCertificates, ...bundles] });
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
  const client = new acme.Client({
    directoryUrl: input.directoryUrl,
    accountKey: input.accountKeyPem,
    // Poll quickly: a CA like Pebble validates within a second; the defaults wait 5 s first.
    backoffAttempts: 12,
    backoffMin: 200,
    backoffMax: 5_000,
    ...(input.eab ? { externalAccountBinding: input.eab } : {}),
  });
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
  return { certPem: cert.toString(), keyPem: key.toString() };
}
