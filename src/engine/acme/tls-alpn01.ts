// tls-alpn01.ts: the engine's half of ACME TLS-ALPN-01 (RFC 8737). While the controller has a
// TLS-ALPN-01 challenge pending, a TLS listener reads each ClientHello first: one that offers ALPN
// `acme-tls/1` with the SNI of a pending challenge completes a handshake with the challenge
// certificate (acmeIdentifier extension) and is closed, as §3 wants; every other connection gets
// its bytes back and goes on as usual. Without pending challenges nothing is pre-read.
import type { Socket } from "node:net";
import tls from "node:tls";
import type { AcmeChallenges } from "../../model/ir.ts";
import { EngineConfigError } from "../contracts.ts";
import { MAX_HELLO_BYTES, parseClientHello } from "../tls/client-hello.ts";

/** ACME_TLS_ALPN is the ALPN protocol id RFC 8737 §6.2 registers for validation handshakes. */
export const ACME_TLS_ALPN = "acme-tls/1";

/** AlpnChallengeGate pre-reads ClientHellos on a listener while TLS-ALPN-01 challenges are pending. */
export interface AlpnChallengeGate {
  /** accept answers a validation handshake itself, or hands socket (bytes intact) to next. */
  accept(socket: Socket, next: (socket: Socket) => void): void;
}

/** compileAlpnChallenges builds the gate; undefined when the snapshot has no TLS-ALPN-01 challenge. */
export function compileAlpnChallenges(
  listener: string,
  acme: AcmeChallenges | undefined,
  helloTimeoutMs: number,
): AlpnChallengeGate | undefined {
  const list = acme?.tlsAlpn01;
  if (list === undefined || list.length === 0) return undefined;
  const contexts = new Map<string, tls.SecureContext>();
  for (const c of list) {
    try {
      contexts.set(c.hostname.toLowerCase(), tls.createSecureContext({ cert: c.certPem, key: c.keyPem }));
    } catch (err) {
      throw new EngineConfigError(
        "InvalidCertificate",
        listener,
        `TLS-ALPN-01 certificate for ${c.hostname}: ${(err as Error).message}`,
      );
    }
  }
  return {
    accept(socket, next) {
      let buf: Buffer | undefined;
      const done = () => {
        socket.pause();
        socket.off("data", onData);
        socket.off("timeout", onTimeout);
        socket.setTimeout(0);
      };
      const onTimeout = () => socket.destroy();
      const onData = (chunk: Buffer) => {
        buf = buf === undefined ? chunk : Buffer.concat([buf, chunk]);
        const r = parseClientHello(buf);
        if (r.type === "more" && buf.length <= MAX_HELLO_BYTES) return;
        done();
        const ctx =
          r.type === "done" && r.servername !== undefined && r.alpn?.includes(ACME_TLS_ALPN)
            ? contexts.get(r.servername)
            : undefined;
        socket.unshift(buf);
        if (ctx === undefined) {
          // Not a validation handshake (or not TLS at all): the listener's own path decides.
          next(socket);
          return;
        }
        answer(socket, ctx);
      };
      socket.setTimeout(helloTimeoutMs);
      socket.on("timeout", onTimeout);
      socket.on("data", onData);
    },
  };
}

// answer completes the validation handshake with the challenge certificate and closes: RFC 8737 §3
// says the server must not carry application data on an acme-tls/1 connection.
function answer(socket: Socket, ctx: tls.SecureContext): void {
  const secure = new tls.TLSSocket(socket, {
    isServer: true,
    secureContext: ctx,
    ALPNProtocols: [ACME_TLS_ALPN],
  });
  secure.setTimeout(10_000, () => secure.destroy());
  secure.on("error", () => socket.destroy());
  secure.once("secure", () => secure.end());
}
