// terminate.ts: TLS termination for an HTTPS listener: SNI picks the certificate (exact name,
// then the longest wildcard, then the default — configured, or the one generated at start), ALPN
// offers h2 and http/1.1. Failed handshakes are counted by reason; plain HTTP gets a 400.
// The listener's TlsOptions go into every context of the port alike: OpenSSL takes versions and
// suites from the context the connection starts with (the fallback), before SNI switches it.
import { X509Certificate } from "../node-crypto.ts";
import { channel } from "node:diagnostics_channel";
import type { Socket } from "node:net";
import tls from "node:tls";
import { EngineConfigError } from "../contracts.ts";
import type { Certificate, ClientValidation, ListenerTls } from "../../model/ir.ts";
import { HostMap } from "../l7/router/host-map.ts";
import { clientAllowed, hasPeerCertificate, verifyErrorOf } from "./client-auth.ts";
import { peekClientHello } from "./client-hello.ts";
import { contextFor } from "./contexts.ts";
import type { Staple, StapleSource } from "./ocsp/stapler.ts";
import { defaultCertificate } from "./default-cert.ts";
import { answerPlainHttp, failureReason, handshakeFailed } from "./handshake-failures.ts";
import { coarseNow, unwatch, watch, type Watcher } from "../net/coarse-timer.ts";

// A handshake must complete within this long of the accept, or the connection is closed (reason
// "timeout"). The coarse sweep serves it (at most a sweep late): Node's socket timeout was a timer
// object, list insertions and an event listener per handshake, removed again when it completed.
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** TLS_HANDSHAKE_CHANNEL carries a TlsHandshakeEvent per completed server handshake (load.ts, metrics.ts count them). */
export const TLS_HANDSHAKE_CHANNEL = "portico:tls.handshake";

/** TlsHandshakeEvent is one completed server handshake. */
export interface TlsHandshakeEvent {
  listener: string;
  /** version is the negotiated protocol ("TLSv1.3"). */
  version: string;
  /**
   * handshakeMs runs from the connection's accept (wrap) to the handshake's completion: the
   * client's ClientHello on its way included (analytics TimingPart "handshake"). Absent when no
   * one listened yet at the accept (nothing was stamped then).
   */
  handshakeMs?: number;
}
const handshake = channel(TLS_HANDSHAKE_CHANNEL);
const ALPN: readonly string[] = ["h2", "http/1.1"];
/** NO_ALPN offers no protocol (TLSRoute Terminate): pass this list, not a new [] per connection. */
export const NO_ALPN: readonly string[] = [];

/** TlsTerminator wraps accepted sockets of one listener. */
export interface TlsTerminator {
  /**
   * wrap starts the server handshake; ready runs with the decrypted socket once it completed.
   * alpn overrides the protocols offered (default h2, http/1.1; [] offers none). verifyClients
   * false skips the listener's client validation (TLSRoute Terminate: not HTTPS traffic).
   */
  wrap(
    socket: Socket,
    ready: (secure: tls.TLSSocket) => void,
    alpn?: readonly string[],
    verifyClients?: boolean,
  ): void;
  /** select returns the context for a server name (the default certificate's for unknown names). */
  select(servername: string): tls.SecureContext;
}

/** compileTls builds the SNI table; a certificate OpenSSL rejects throws EngineConfigError. */
export function compileTls(
  listener: string,
  cfg: ListenerTls,
  certs: Record<string, Certificate>,
  ocsp?: StapleSource,
): TlsTerminator {
  const pem = (name: string): Certificate => {
    const c = certs[name];
    if (c === undefined)
      throw new EngineConfigError("MissingCertificate", listener, `certificate ${name} not in snapshot`);
    return c;
  };
  const context = (
    name: string,
    c: Certificate,
    client: ClientValidation | undefined,
    more: Certificate[],
  ) => {
    try {
      return contextFor(c, client, cfg.options, more);
    } catch (err) {
      throw new EngineConfigError(
        "InvalidCertificate",
        listener,
        `certificate ${name}: ${(err as Error).message}`,
      );
    }
  };
  const load = (name: string, client: ClientValidation | undefined): Served => {
    const c = pem(name);
    const alts = (cfg.alternates ?? []).filter((a) => a.primary === name).map((a) => a.certificate);
    const staple = ocsp?.stapleFor(name, c);
    const altStaples = alts.map((a) => ocsp?.stapleFor(a, pem(a)));
    // Without stapling, one context holds every key type and OpenSSL picks. A staple must be the
    // chosen certificate's, which OpenSSL decides after Node asks for the staple: so with a
    // responder in play each key type gets a context of its own, chosen from the ClientHello.
    if (alts.length === 0 || (staple === undefined && altStaples.every((s) => s === undefined)))
      return { client, main: choice(context(name, c, client, alts.map(pem)), staple) };
    const byKey = [name, ...alts].map((n, i) => ({
      ecdsa: isEcdsa(pem(n)),
      ...choice(context(n, pem(n), client, []), i === 0 ? staple : altStaples[i - 1]),
    }));
    return { client, main: byKey[0]!, byKey };
  };
  // A host's own clientValidation (Ingress auth-tls-*) replaces the listener's for its name.
  const byName = new HostMap<Served>();
  const served: Served[] = [];
  for (const s of cfg.sni) {
    if (s.hostname === "*") continue;
    const client = s.clientValidation ?? cfg.clientValidation;
    const one = load(s.certificate, client);
    byName.add(s.hostname, one);
    served.push(one);
  }
  // An unknown name (or none) completes the handshake with the default certificate, so the client
  // gets an HTTP answer (404) rather than a reset it cannot tell from a network fault.
  const fallback: Served =
    cfg.defaultCertificate === undefined
      ? {
          client: cfg.clientValidation,
          main: choice(contextFor(defaultCertificate(), cfg.clientValidation, cfg.options), undefined),
        }
      : load(cfg.defaultCertificate, cfg.clientValidation);
  const entry = (servername: string) => byName.lookup(servername) ?? fallback;
  const select = (servername: string) => entry(servername).main.ctx;
  // A connection starts in the fallback's context; the callback names another only when the
  // server name needs one. Node switches the connection to any context it is handed (OpenSSL's
  // SSL_set_SSL_CTX and the certificate and key copied in again), the same one included.
  const SNICallback = (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => {
    const ctx = select(servername);
    cb(null, ctx === fallback.main.ctx ? undefined : ctx);
  };
  // node's SNI switch copies only a context's last certificate into the connection, and OpenSSL
  // fixes whether to ask for a client certificate before SNI: with alternates (ECDSA + RSA), a
  // validation of a host's own, or a staple to send, the ClientHello is peeked for its server name
  // (and key types) first and the TLSSocket starts in that name's context with its validation.
  served.push(fallback);
  // Every name served from one context (one certificate, or names that share theirs): no SNI
  // callback at all. With one, OpenSSL suspends each handshake at its certificate callback for a
  // call into JavaScript and back, which costs every full handshake for nothing here.
  const sniCallback = served.some((s) => s.main.ctx !== fallback.main.ctx) ? { SNICallback } : {};
  const peek =
    (cfg.alternates ?? []).length > 0 ||
    cfg.sni.some((s) => s.clientValidation !== undefined) ||
    served.some((s) => s.main.stapler !== undefined || s.byKey !== undefined);
  // A handshake's options are the same for every connection of the listener unless the ClientHello
  // was peeked (then they depend on the name): built once per ALPN list and validation choice. The
  // lists are found by identity (callers pass ALPN or NO_ALPN): a key string joined and hashed for
  // every handshake showed in its profile (alpnWire and start, ~2% of the engine's JavaScript).
  const fixed = new Map<readonly string[], [tls.TLSSocketOptions?, tls.TLSSocketOptions?]>();
  const optionsFor = (use: Choice, client: ClientValidation | undefined, alpn: Buffer | undefined) => ({
    isServer: true,
    ...(peek ? { secureContext: use.ctx } : { secureContext: fallback.main.ctx, ...sniCallback }),
    // Node asks a TLSSocket's server for the staple (its 'OCSPRequest' event) when a client
    // requests one; the stapler stands in as that server. Without it, nothing is asked.
    ...(use.stapler !== undefined ? { server: use.stapler } : {}),
    ...(alpn !== undefined ? { ALPNProtocols: alpn } : {}),
    requestCert: client !== undefined,
    // AllowValidOnly: OpenSSL already fails a handshake without a client certificate.
    rejectUnauthorized: client?.mode === "AllowValidOnly",
  });
  const start = (
    socket: Socket,
    servername: string | undefined,
    ecdsa: boolean,
    ready: (secure: tls.TLSSocket) => void,
    alpn: readonly string[],
    verifyClients: boolean,
    accepted: number,
  ): void => {
    const chosen = peek ? entry(servername ?? "") : fallback;
    const client = verifyClients ? chosen.client : undefined;
    const use = peek ? pick(chosen, ecdsa) : fallback.main;
    let options: tls.TLSSocketOptions;
    if (peek) options = optionsFor(use, client, alpnWire(alpn));
    else {
      let both = fixed.get(alpn);
      if (both === undefined) {
        both = [undefined, undefined];
        if (fixed.size < 8) fixed.set(alpn, both);
      }
      options = both[verifyClients ? 1 : 0] ??= optionsFor(use, client, alpnWire(alpn));
    }
    const secure = new tls.TLSSocket(socket, options) as Shaking;
    // One object and shared listeners per handshake, not a closure per event (Handshake, below).
    const h = new Handshake(listener, socket, secure, client, ready, accepted);
    secure[HANDSHAKE] = h;
    watch(h);
    secure.once("close", onCloseBeforeSecure);
    secure.on("error", onTlsError);
    secure.once("secure", onSecure);
  };
  return {
    select,
    wrap(socket, ready, alpn = ALPN, verifyClients = true) {
      // Stamped only while someone listens: a clock read per connection otherwise saved.
      const accepted = handshake.hasSubscribers ? performance.now() : 0;
      if (!peek) return start(socket, undefined, true, ready, alpn, verifyClients, accepted);
      peekClientHello(socket, HANDSHAKE_TIMEOUT_MS, (r) => {
        if (r === undefined) {
          if (socket.bytesRead > 0) handshakeFailed(listener, "timeout");
          return;
        }
        // Not TLS: the TLS layer meets the bytes as it would have and answers as usual (400 to HTTP).
        const hello = r.type === "done" ? r : undefined;
        start(socket, hello?.servername, hello?.ecdsa ?? true, ready, alpn, verifyClients, accepted);
      });
    },
  };
}

// ALPN_WIRE holds protocol lists in the wire format Node would build from the array for every
// handshake (tls.convertALPNProtocols); given a Buffer it only copies it.
const ALPN_WIRE = new Map<string, Buffer | undefined>();

function alpnWire(alpn: readonly string[]): Buffer | undefined {
  if (alpn.length === 0) return undefined;
  const key = alpn.join(",");
  let wire = ALPN_WIRE.get(key);
  if (wire === undefined) {
    wire = Buffer.concat(alpn.map((p) => Buffer.concat([Buffer.of(Buffer.byteLength(p)), Buffer.from(p)])));
    if (ALPN_WIRE.size < 16) ALPN_WIRE.set(key, wire);
  }
  return wire;
}

// HANDSHAKE links a TLSSocket whose handshake is under way to its Handshake.
const HANDSHAKE = Symbol("portico.handshake");
type Shaking = tls.TLSSocket & { [HANDSHAKE]?: Handshake; secureConnecting: boolean };

/**
 * Handshake is one server handshake's state, read by the listeners below (`this` is the
 * TLSSocket), and its deadline on the coarse sweep while it is under way.
 */
class Handshake implements Watcher {
  // failed is set once the handshake's failure was counted; a close before it is one too.
  failed = false;
  established = false;
  readonly listener: string;
  /** socket is the raw TCP socket under the TLS one. */
  readonly socket: Socket;
  readonly secure: Shaking;
  readonly client: ClientValidation | undefined;
  readonly ready: (secure: tls.TLSSocket) => void;
  /** accepted is when the connection was accepted (performance.now()), 0 when not stamped. */
  readonly accepted: number;
  /** until is when the handshake times out (the coarse sweep's clock). */
  readonly until: number;
  prevWatched: Watcher | null = null;
  nextWatched: Watcher | null = null;
  constructor(
    listener: string,
    socket: Socket,
    secure: Shaking,
    client: ClientValidation | undefined,
    ready: (secure: tls.TLSSocket) => void,
    accepted: number,
  ) {
    this.listener = listener;
    this.socket = socket;
    this.secure = secure;
    this.client = client;
    this.ready = ready;
    this.accepted = accepted;
    this.until = coarseNow() + HANDSHAKE_TIMEOUT_MS;
  }

  /** check is the sweep's: a handshake still under way at its deadline fails as "timeout". */
  check(now: number): void {
    if (now < this.until) return;
    unwatch(this);
    this.fail("timeout");
    this.secure.destroy();
  }

  fail(reason: Parameters<typeof handshakeFailed>[1]): void {
    // A close before the client sent a byte is a TCP probe (a health check, a port scan) or a
    // shutdown, not a handshake that failed: as on the SNI pre-read path, it is not counted.
    if (!this.failed && (reason !== "connection_closed" || this.socket.bytesRead > 0))
      handshakeFailed(this.listener, reason);
    this.failed = true;
  }
}

function onCloseBeforeSecure(this: Shaking): void {
  const h = this[HANDSHAKE]!;
  unwatch(h);
  h.fail("connection_closed");
}

function onTlsError(this: Shaking, err: NodeJS.ErrnoException): void {
  const h = this[HANDSHAKE]!;
  const reason = failureReason(err);
  if (h.established) {
    this.destroy();
    h.socket.destroy();
    return;
  }
  h.fail(reason);
  this.destroy();
  // The TLS layer stopped at the first bytes: the raw socket can still answer in plain HTTP.
  if (reason === "plain_http") answerPlainHttp(h.socket);
  else h.socket.destroy();
}

function onSecure(this: Shaking): void {
  const h = this[HANDSHAKE]!;
  h.established = true;
  unwatch(h);
  // Sizing weighs handshakes apart from requests (controller/fleet/sizing.ts): the costliest
  // step of an HTTPS engine. One publish per handshake is far below the handshake's own cost.
  if (handshake.hasSubscribers) {
    const ev: TlsHandshakeEvent = { listener: h.listener, version: this.getProtocol() ?? "" };
    if (h.accepted !== 0) ev.handshakeMs = performance.now() - h.accepted;
    handshake.publish(ev);
  }
  this.removeListener("close", onCloseBeforeSecure);
  // tls.Server clears this flag when it emits secureConnection; without a tls.Server we
  // must, or consumers that wait for the handshake (node:http2 sessions) wait forever.
  this.secureConnecting = false;
  const client = h.client;
  if (client !== undefined && !clientAllowed(client.mode, hasPeerCertificate(this), verifyErrorOf(this))) {
    h.fail("client_certificate");
    this.destroy();
    h.socket.destroy();
    return;
  }
  h.ready(this);
}

// Choice is one context a handshake may start in, and the tls.Server that hands Node its staple.
interface Choice {
  ctx: tls.SecureContext;
  stapler?: tls.Server;
}

// Served is what a server name gets: its client validation and its context; byKey, when the
// name's key types are told apart by the ClientHello, one context per certificate.
interface Served {
  client: ClientValidation | undefined;
  main: Choice;
  byKey?: (Choice & { ecdsa: boolean })[];
}

// choice pairs a context with its staple: a tls.Server that never listens, only answers Node's
// 'OCSPRequest' (asked only when the client sent status_request) with the current response.
function choice(ctx: tls.SecureContext, staple: Staple | undefined): Choice {
  if (staple === undefined) return { ctx };
  const stapler = new tls.Server();
  stapler.on(
    "OCSPRequest",
    (_cert: Buffer, _issuer: Buffer, cb: (err: Error | null, res: Buffer | null) => void) =>
      cb(null, staple() ?? null),
  );
  return { ctx, stapler };
}

// pick takes the ECDSA certificate for a client that can use one and the other key type for the
// rest, as OpenSSL would with the default (server-preferred, ECDSA-first) suite order.
function pick(s: Served, ecdsa: boolean): Choice {
  if (s.byKey === undefined) return s.main;
  return s.byKey.find((c) => c.ecdsa === ecdsa) ?? s.main;
}

// isEcdsa says whether a certificate's key is an EC key.
function isEcdsa(c: Certificate): boolean {
  try {
    return new X509Certificate(c.certPem).publicKey.asymmetricKeyType === "ec";
  } catch {
    return false;
  }
}
