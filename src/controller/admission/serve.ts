// serve.ts: the webhook as `portico controller` runs it — this replica's informers (view.ts), the
// certificate (credentials.ts) and the HTTPS server (server.ts), started and closed together.
import type { KubeClient } from "../../sources/kube/client.ts";
import type { TenantMemory, TranslateOptions } from "../../translate/types.ts";
import type { Logger } from "../log.ts";
import type { HealthCheck } from "../standalone.ts";
import { generatePair, readPair, servingNames, type ServingPair } from "./credentials.ts";
import { startAdmission } from "./server.ts";
import { ADMISSION_KINDS, AdmissionWatch } from "./view.ts";

/** ADMISSION_SERVICE is the Service deploy/admission.yaml puts in front of the webhook (a generated certificate names it). */
export const ADMISSION_SERVICE = "portico-admission";

/** ServeAdmissionOptions are what serveAdmission needs. */
export interface ServeAdmissionOptions {
  client: KubeClient;
  namespaces: readonly string[];
  host: string;
  port: number;
  /** files are --admission-cert/--admission-key; without them a certificate is made and its CA written to caFile. */
  files?: { cert: string; key: string };
  caFile?: string;
  /** namespace is the controller's (the Service's) namespace. */
  namespace: string;
  memory: () => TenantMemory | undefined;
  translate: TranslateOptions;
  log: Logger;
}

/** serveAdmission starts the webhook; close stops its server and informers. */
export async function serveAdmission(
  o: ServeAdmissionOptions,
): Promise<{ port: number; readiness(): HealthCheck; close(): Promise<void> }> {
  let pair: () => ServingPair;
  if (o.files) {
    const { cert, key } = o.files;
    pair = () => readPair(cert, key);
  } else {
    const made = generatePair(servingNames(ADMISSION_SERVICE, o.namespace, o.host), o.caFile!);
    o.log("info", "admission webhook: certificate made; put the CA file in the webhook's caBundle", {
      caFile: o.caFile,
    });
    pair = () => made;
  }
  const watch = new AdmissionWatch(o.client, o.namespaces, o.log, o.memory);
  watch.start();
  try {
    const server = await startAdmission({
      host: o.host,
      port: o.port,
      pair,
      view: () => watch.view(),
      translate: o.translate,
      log: o.log,
    });
    return {
      port: server.port,
      readiness: () => ({
        name: "admission",
        ok: watch.synced(),
        detail: watch.synced() ? `webhook on port ${server.port} answers` : listingDetail(watch.error()),
      }),
      async close() {
        await server.close();
        watch.close();
      },
    };
  } catch (e) {
    watch.close();
    throw e;
  }
}

/** listingDetail is the readiness detail before the first listing: still listing, or why it failed and what to do. */
export function listingDetail(error: string | undefined): string {
  if (error === undefined) return "the webhook's watch is still listing the cluster (reviews get 503)";
  return (
    `the webhook's listing failed: ${error}; retrying. Grant the controller list/watch on ` +
    `${[...ADMISSION_KINDS].join(", ")} (and install Portico's CRDs), or drop --admission-listen (reviews get 503)`
  );
}
