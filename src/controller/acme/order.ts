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
}

/** Issued is a certificate chain and its key, both PEM. */
export interface Issued {
  certPem: string;
  keyPem: string;
}

const TYPE = { HTTP01: "http-01", TLSALPN01: "tls-alpn-01" } as const;

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

/** order obtains a certificate for input.hosts; throws with the CA's problem text on failure. */
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
  return { certPem: cert.toString(), keyPem: key.toString() };
}
