// upstream.ts: HTTP/1.1 connections to backends and their per-backend keep-alive pool. One
// UpstreamConn carries one exchange at a time; its response parser tells where a response ends,
// so the socket can go back to the idle pool for the next request.
import { createHash } from "../node-crypto.ts";
import net from "node:net";
import tls from "node:tls";
import { writeDirect } from "../net/own-socket.ts";
import { ownSocketsSetting } from "../net/accept-path.ts";
import { EngineConfigError, type Backend } from "../contracts.ts";
import type { Certificate, Pool, UpstreamTls } from "../../model/ir.ts";
import { HttpParser, type MessageHead, type MessageSink, type ParseError } from "../http/parser.ts";
import { COARSE_MIN_MS, unwatch, watch, type Watcher } from "../net/coarse-timer.ts";
import { flushAtRelease, type Batched, type Flushing } from "../net/write-batch.ts";
import { arrival, NO_TIME } from "../net/arrival.ts";
import { httpResponse } from "./events.ts";

/** UpstreamFailure says what went wrong with a backend connection. */
export type UpstreamFailure = "connect" | "reset" | "timeout" | "protocol";

/** UpstreamOwner is the exchange using a connection; it receives the response events. */
export interface UpstreamOwner extends MessageSink {
  /** onUpstreamFailure: sawResponse tells whether any response byte arrived first. */
  onUpstreamFailure(conn: UpstreamConn, failure: UpstreamFailure, detail: string): void;
  /** onUpgrade gets the bytes after a 101 head; from then on the owner owns the raw socket. */
  onUpgrade(conn: UpstreamConn, rest: Buffer): void;
  /** onUpstreamDrain runs when the backend socket's write buffer emptied (request-body backpressure). */
  onUpstreamDrain(): void;
  /**
   * timed owners stamp their timings: onConnected runs once the connection can take the request,
   * fresh after a wait for a new connection (TCP, TLS, an HTTP/2 session), or not fresh when it
   * already could (the connect part of the response event's timings).
   */
  readonly timed?: boolean;
  /** attemptId names the owner's current attempt; onConnected ignores a call for another one. */
  readonly attemptId?: number;
  onConnected?(fresh: boolean, attemptId?: number): void;
  /**
   * beforeRead and afterRead, when present, bracket the parsing of one backend read, so the owner
   * can join a response head with the body bytes of the same read into one client write.
   */
  beforeRead?(): void;
  afterRead?(): void;
  /**
   * transientBody true takes onBody chunks that are views of a shared read buffer, valid only
   * during the call (the owner copies what it keeps); otherwise the connection copies them.
   */
  readonly transientBody?: boolean;
}

const IDLE_TIMEOUT_MS = 60_000;

// direct is false when PORTICO_OWN_SOCKETS is off: the switch rules out every write Portico makes
// on Node's native handles itself, backend request heads (writeDirect) included, so it can rule
// the layer out when chasing a problem. (A value it does not know is refused at engine start.)
const direct = ((): boolean => {
  try {
    return ownSocketsSetting() !== false;
  } catch {
    return true;
  }
})();
// The idle cap bounds what a burst leaves behind (the idle timeout closes the rest within a
// minute: pooled connections are reused last-in first-out, so the surplus is the oldest and ages
// out). It must stay above the requests one backend has in flight at once, or each turn that
// completes more than the cap closes the surplus and the next opens them again: at 256, h2-tls's
// 640 concurrent streams to one backend opened a new connection for about half their requests
// (docs/performance.md, "HTTP/2 on the own codec").
const MAX_IDLE_PER_BACKEND = 1024;
// The whole pool's idle cap bounds the descriptors bursts to many backends can leave parked for a
// minute (64 backends × 1,024 would reach a typical open-files limit and fail client accepts).
const MAX_IDLE_TOTAL = 8192;

// readBuffer receives the reads of every plain-TCP backend connection (net's onread): a read is
// parsed synchronously before the next one, so one buffer serves them all and no read allocates
// (a socket's own reads malloc 64 KiB, shrink it, and register an ArrayBuffer each time).
const readBuffer = Buffer.allocUnsafe(64 * 1024);

/** copyOf returns a copy of a view of the shared read buffer (small ones come from Buffer's pool). */
export function copyOf(view: Buffer): Buffer {
  const b = Buffer.allocUnsafe(view.length);
  view.copy(b, 0);
  return b;
}

/** UpstreamConn is one TCP connection to a backend. */
export class UpstreamConn implements MessageSink, Watcher, Batched, Flushing {
  readonly socket: net.Socket;
  /** batched is true while this turn's writes are held (write-batch.ts). */
  batched = false;
  /** flushedAt is when held writes last left while a response waited for them (write-batch.ts). */
  flushedAt = NO_TIME;
  readonly backend: Backend;
  readonly pool: UpstreamPool;
  owner: UpstreamOwner | null = null;
  /** connected turns true on "connect"; reused tells whether it served a request before. */
  connected = false;
  reused = false;
  /** sawResponse is true once any byte of the current response arrived. */
  sawResponse = false;
  /** timeoutMs is the inactivity limit while a request is in flight. */
  private busyTimeoutMs = 0;
  private readonly parser: HttpParser;
  private closed = false;
  // shared is true when reads land in readBuffer; detached once takeSocket handed the socket on.
  private readonly shared: boolean;
  private detached = false;

  /** key is the idle-pool key: backend id, plus the TLS server name when re-encrypting. */
  readonly key: string;

  constructor(
    pool: UpstreamPool,
    backend: Backend,
    connectTimeoutMs: number,
    key: string,
    upTls?: UpstreamTls,
  ) {
    this.pool = pool;
    this.backend = backend;
    this.key = key;
    this.parser = new HttpParser("response", this, 0, false);
    this.shared = upTls === undefined;
    const s =
      upTls === undefined
        ? net.connect({
            host: backend.address,
            port: backend.port,
            noDelay: true,
            onread: { buffer: readBuffer, callback: (n: number, b: Uint8Array) => this.onRead(n, b) },
          })
        : connectTls(backend, upTls);
    this.socket = s;
    // Backend connections never keep the process alive: an idle pooled one must not, and a busy
    // one serves a client connection that does. (No ref/unref per request: each is a native call.)
    s.unref();
    this.armTimeout(connectTimeoutMs);
    s.on(upTls === undefined ? "connect" : "secureConnect", () => {
      this.connected = true;
      this.armTimeout(this.owner === null ? this.pool.idleTimeoutMs : this.busyTimeoutMs);
      const o = this.owner;
      if (o?.timed === true) o.onConnected!(true);
    });
    if (!this.shared) s.on("data", (buf: Buffer) => this.onData(buf));
    s.on("end", () => this.onEnd());
    s.on("drain", () => this.owner?.onUpstreamDrain());
    s.on("timeout", () => this.timedOut());
    s.on("error", (err: NodeJS.ErrnoException) =>
      this.fail(this.connected ? "reset" : "connect", err.code ?? err.message),
    );
    s.on("close", () => {
      this.closed = true;
      unwatch(this);
      this.parser.close();
      this.pool.forget(this);
      if (this.owner !== null) this.fail("reset", "backend closed the connection");
    });
  }

  /** attach gives the connection to an exchange; timeoutMs bounds inactivity while it is busy. */
  attach(owner: UpstreamOwner, timeoutMs: number): void {
    this.owner = owner;
    this.sawResponse = false;
    this.upgraded = false;
    this.busyTimeoutMs = timeoutMs;
    if (this.connected) this.armTimeout(timeoutMs);
    // The last exchange may have paused it for backpressure and finished in the same read.
    if (this.reused && this.socket.isPaused()) this.socket.resume();
  }

  // Links of the coarse sweep's list (coarse-timer.ts).
  prevWatched: Watcher | null = null;
  nextWatched: Watcher | null = null;
  private armed = -1;
  private coarse = false;
  private active = true;
  private lastActive = NO_TIME;
  // armTimeout sets the inactivity timeout (connect, busy, or how long the connection stays
  // pooled): timeouts of seconds go to the coarse sweep, which sees activity through the `active`
  // flag (set here and on every read), shorter ones to the socket's own timer. Each arming counts
  // as activity: it marks a new phase of the connection.
  private armTimeout(ms: number): void {
    this.active = true;
    if (ms === this.armed) return;
    this.armed = ms;
    const coarse = ms >= COARSE_MIN_MS;
    if (coarse !== this.coarse) {
      this.coarse = coarse;
      if (coarse) {
        this.socket.setTimeout(0);
        watch(this);
      } else unwatch(this);
    }
    if (!coarse) this.socket.setTimeout(ms);
  }

  /** check is the coarse sweep's call: the connection times out after `armed` ms without activity. */
  check(now: number): void {
    if (this.active) {
      this.active = false;
      this.lastActive = now;
    } else if (now - this.lastActive >= this.armed) this.timedOut();
  }

  private timedOut(): void {
    this.fail("timeout", this.connected ? "backend timed out" : "connect timed out");
  }

  /**
   * writeHead writes a request head: straight to the TCP handle when the connection is up and
   * nothing waits before it (writeDirect), else through the socket (which queues it until connect).
   */
  writeHead(head: string): void {
    this.active = true;
    if (!this.shared || !direct || !writeDirect(this.socket, head)) this.socket.write(head, "latin1");
    else this.wroteDirect();
  }

  // wroteDirect restarts the socket's own inactivity timer after a write on the handle, as a write
  // through the socket restarts it: a backend timeout under the coarse sweep's (armTimeout) then
  // counts from the request, not from the connection's last read. Without it a connection that sat
  // pooled for most of the timeout timed its next request out early (504 while the backend was
  // answering in time).
  private wroteDirect(): void {
    if (!this.coarse && this.armed > 0) restartTimer(this.socket);
  }

  // heldHead is a whole request held for this turn's release (holdHead).
  private heldHead: string | null = null;

  /**
   * holdHead takes a whole request (a head with no body after it) and writes it at this turn's
   * release straight to the TCP handle (flushOut): one write, as the socket's cork and uncork gave,
   * without the socket's Writable — a buffered-write entry, a write request and an after-write
   * tick per request (docs/performance.md, "The backend write on the handle"). False where that
   * cannot be done (TLS, not connected yet, writes waiting in the socket, PORTICO_OWN_SOCKETS=off):
   * the caller writes through the socket.
   */
  holdHead(head: string): boolean {
    const s = this.socket;
    if (!this.shared || !direct || !this.connected || this.batched || this.heldHead !== null) return false;
    if (s.writableLength !== 0 || s.destroyed) return false;
    this.active = true;
    this.heldHead = head;
    flushAtRelease(this);
    return true;
  }

  /** flushOut is write-batch.ts's call at the turn's release: the held request leaves. */
  flushOut(): void {
    const head = this.heldHead;
    if (head === null) return;
    this.heldHead = null;
    if (this.closed) return;
    // The socket may have queued writes since (a detour through socket.write): then it keeps the order.
    if (!writeDirect(this.socket, head)) this.socket.write(head, "latin1");
    else this.wroteDirect();
  }

  /** release returns the connection to the idle pool, or closes it when reusable is false. */
  release(reusable: boolean): void {
    this.owner = null;
    // A request still held never left: the connection's framing is clean, but nothing is to be sent.
    this.heldHead = null;
    if (!reusable || this.closed) {
      this.destroy();
      return;
    }
    this.reused = true;
    this.pool.park(this);
  }

  /**
   * idleFor is the pool's call when it keeps the connection idle: from now on the pool's idle
   * timeout governs it, not the timeout of the route whose request it carried last (a route's
   * long one kept an idle connection open that long; a short one closed it while it waited).
   */
  idleFor(idleTimeoutMs: number): void {
    if (this.connected) this.armTimeout(idleTimeoutMs);
  }

  /** destroy closes the connection without telling the owner. */
  destroy(): void {
    this.owner = null;
    this.closed = true;
    this.heldHead = null;
    unwatch(this);
    this.socket.destroy();
    this.pool.forget(this);
  }

  private onRead(n: number, b: Uint8Array): true {
    this.active = true;
    const view = (b as Buffer).subarray(0, n);
    // A tunnel (after takeSocket) reads through "data" events like any socket: give it copies.
    if (this.detached) this.socket.emit("data", copyOf(view));
    else {
      // A plain TCP handle's read callback: the poll phase (arrival.ts); onData's own call then
      // finds the stamp taken.
      if (httpResponse.hasSubscribers) arrival(true);
      this.onData(view);
    }
    // Reading goes on: backpressure pauses the socket itself (pause() stops reading here too).
    return true;
  }

  private onData(buf: Buffer): void {
    this.active = true;
    // The turn's clock starts at its first read, a backend's too: a request read after this one
    // in the same turn was already in the kernel (net/arrival.ts).
    if (httpResponse.hasSubscribers) arrival();
    const owner = this.owner;
    if (owner === null) {
      // Bytes on an idle connection mean the backend and we disagree about framing.
      this.destroy();
      return;
    }
    this.sawResponse = true;
    owner.beforeRead?.();
    this.readOwner = owner;
    const r = this.parser.execute(buf);
    this.readOwner = null;
    owner.afterRead?.();
    if (typeof r !== "number") {
      this.fail("protocol", `invalid response from backend: ${(r as ParseError).code}`);
    } else if (this.upgraded && this.owner === owner) {
      const rest = buf.subarray(r);
      owner.onUpgrade(this, this.shared ? copyOf(rest) : rest);
    }
  }

  // readOwner is the owner when the read being parsed began: a response head in that read is its.
  private readOwner: UpstreamOwner | null = null;

  // upgraded is set by onHead for a 101 so onData knows the remaining bytes are the tunnel's.
  private upgraded = false;

  private onEnd(): void {
    // The backend is done with this connection: whatever completes now must not pool it.
    this.closed = true;
    this.pool.forget(this);
    if (this.owner !== null && !this.upgraded) {
      const err = this.parser.finish();
      if (err !== undefined && this.owner !== null) this.fail("reset", "backend closed mid-response");
    }
    if (!this.upgraded) this.socket.end();
  }

  private fail(failure: UpstreamFailure, detail: string): void {
    const owner = this.owner;
    this.destroy();
    if (owner !== null) owner.onUpstreamFailure(this, failure, detail);
  }

  /** takeSocket detaches the socket for a tunnel (after 101): no more parsing, pooling or timeouts. */
  takeSocket(): net.Socket {
    const s = this.socket;
    for (const ev of ["data", "end", "timeout", "error", "close", "drain", "connect"])
      s.removeAllListeners(ev);
    s.setTimeout(0);
    unwatch(this);
    this.owner = null;
    this.closed = true;
    this.detached = true;
    this.parser.close();
    return s;
  }

  onBegin(): void {}
  onHead(head: MessageHead): boolean {
    const o = this.owner;
    if (o === null || o !== this.readOwner) {
      // Another response in the read that completed the owner's (a backend that answered one
      // request twice, or sent one nobody asked for): it is nobody's — not the next exchange's,
      // which may have taken the connection meanwhile — and the framing cannot be trusted. The
      // connection closes; the rest of the read goes nowhere (owner null). It used to be handed
      // to a null owner: a TypeError out of the socket's read callback, which ended the process.
      // An exchange that took the connection meanwhile got none of its own answer (its request was
      // written after the backend wrote this one): it fails as in the keep-alive race, a reset
      // reused connection, so an idempotent request without a body goes again on another one.
      if (o === null) this.destroy();
      else this.fail("reset", "backend sent a response nobody asked for before this request's");
      return true;
    }
    if (head.statusCode === 101) this.upgraded = true;
    return o.onHead(head);
  }
  onBody(chunk: Buffer): void {
    const o = this.owner;
    if (o === null) return;
    o.onBody(this.shared && o.transientBody !== true ? copyOf(chunk) : chunk);
  }
  onTrailers(trailers: string[]): void {
    this.owner?.onTrailers(trailers);
  }
  onComplete(): void {
    // The parser completes a 101 at the end of its head; the tunnel takes over from there.
    if (this.upgraded) return;
    this.owner?.onComplete();
  }
}

// restartTimer restarts s's inactivity timer (socket.setTimeout) as its own writes do: Node's
// _unrefTimer refreshes the timer in place; where a Node lacks it, the timer is set again.
function restartTimer(s: net.Socket): void {
  const refresh = (s as unknown as { _unrefTimer?: () => void })._unrefTimer;
  if (typeof refresh === "function") refresh.call(s);
  else s.setTimeout(s.timeout ?? 0);
}

/** UpstreamPool keeps idle keep-alive connections per backend id. */
export class UpstreamPool {
  private readonly idle = new Map<string, UpstreamConn[]>();
  // parked counts the connections on every idle list (maxIdleTotal).
  private parked = 0;
  private readonly maxIdleTotal: number;
  /** idleTimeoutMs is how long a connection stays parked without a request before it closes. */
  readonly idleTimeoutMs: number;

  constructor(maxIdleTotal = MAX_IDLE_TOTAL, idleTimeoutMs = IDLE_TIMEOUT_MS) {
    this.maxIdleTotal = maxIdleTotal;
    this.idleTimeoutMs = idleTimeoutMs;
  }

  /** acquire returns an idle connection to backend, or opens a new one (writes before connect are queued). */
  acquire(backend: Backend, connectTimeoutMs: number, upTls?: UpstreamTls): UpstreamConn {
    const key = upTls === undefined ? backend.id : `${backend.id}|tls|${policyKey(upTls)}`;
    // An emptied list stays: under load the pool empties and refills every few requests, and a Map
    // entry deleted and set again each time churns the Map's table (garbage that gets promoted).
    // forget() drops a list that a closing connection finds empty, so none outlives its backend.
    const c = this.idle.get(key)?.pop();
    if (c !== undefined) {
      this.parked--;
      return c;
    }
    return new UpstreamConn(this, backend, connectTimeoutMs, key, upTls);
  }

  /** park puts a connection on its backend's idle list. */
  park(c: UpstreamConn): void {
    let list = this.idle.get(c.key);
    if (list === undefined) this.idle.set(c.key, (list = []));
    if (list.length >= MAX_IDLE_PER_BACKEND || this.parked >= this.maxIdleTotal) c.destroy();
    else {
      list.push(c);
      this.parked++;
      c.idleFor(this.idleTimeoutMs);
    }
  }

  /** forget removes a connection from the idle list (closed by either side). */
  forget(c: UpstreamConn): void {
    const list = this.idle.get(c.key);
    if (list === undefined) return;
    const i = list.indexOf(c);
    if (i !== -1) {
      list.splice(i, 1);
      this.parked--;
    }
    if (list.length === 0) this.idle.delete(c.key);
  }

  /** idleCount returns how many idle connections the pool holds (tests, metrics). */
  idleCount(): number {
    let n = 0;
    for (const l of this.idle.values()) n += l.length;
    return n;
  }

  /** close destroys every idle connection. */
  close(): void {
    for (const l of [...this.idle.values()]) for (const c of [...l]) c.destroy();
  }
}

// sessions keeps the last TLS session per backend and verification policy, so reconnects resume.
const sessions = new Map<string, Buffer>();

// policyKeys caches policyKey per UpstreamTls object (one per pool and snapshot).
const policyKeys = new WeakMap<UpstreamTls, string>();

// clientCerts holds the client certificate of each UpstreamTls that names one (Gateway
// spec.tls.backend), bound from the snapshot's certificates when a listener is compiled.
const clientCerts = new WeakMap<UpstreamTls, Certificate>();

/**
 * bindClientCertificates finds, in certificates, the client certificate every TLS pool names;
 * a name with no certificate is a configuration error of the listener being compiled.
 */
export function bindClientCertificates(
  pools: Record<string, Pool>,
  certificates: Record<string, Certificate>,
  listener: string,
): void {
  for (const p of Object.values(pools)) {
    const name = p.tls?.clientCertificate;
    if (name === undefined || clientCerts.has(p.tls!)) continue;
    const c = certificates[name];
    if (c === undefined)
      throw new EngineConfigError(
        "MissingCertificate",
        listener,
        `pool ${p.name}: client certificate ${JSON.stringify(name)} is not in the snapshot`,
      );
    clientCerts.set(p.tls!, c);
  }
}

/**
 * policyKey names everything a backend connection was verified against (SNI, CA, accepted
 * names) and the client certificate it presented: an idle connection or a TLS session is reused
 * only under the same policy. A resumed session skips certificate verification, so one verified
 * against another CA must not be offered; nor one that authenticated with another certificate.
 */
export function policyKey(t: UpstreamTls): string {
  let k = policyKeys.get(t);
  if (k === undefined) {
    const h = createHash("sha256").update(t.caPem ?? "(system roots)");
    if (t.subjectAltNames === undefined) h.update("\0(sni)");
    else for (const n of t.subjectAltNames) h.update(`\0${n}`);
    // An unverified connection's session must never be resumed under a verifying policy.
    if (t.skipVerify === true) h.update("\0(unverified)");
    const client = clientCerts.get(t);
    if (client !== undefined) h.update(`\0(client)${client.certPem}`);
    k = `${t.sni}|${h.digest("base64url").slice(0, 22)}`;
    policyKeys.set(t, k);
  }
  return k;
}

/**
 * sanMatches says whether a BackendTLSPolicy subjectAltName matches the certificate: "URI:<uri>"
 * exactly against its URI SANs (tls.checkServerIdentity only knows DNS names and IPs), anything
 * else as a hostname.
 */
export function sanMatches(name: string, cert: tls.PeerCertificate): boolean {
  if (!name.startsWith("URI:")) return tls.checkServerIdentity(name, cert) === undefined;
  // Node lists SANs as `TYPE:value, ...`, quoting a value that holds a comma or quote as JSON.
  for (const entry of (cert.subjectaltname ?? "").split(/, (?=[A-Za-z ]+:)/)) {
    if (!entry.startsWith("URI:")) continue;
    const raw = entry.slice(4);
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    if (value === name.slice(4)) return true;
  }
  return false;
}

/**
 * tlsOptions are the TLS connect options of a backend policy (BackendTLSPolicy semantics: the chain
 * must verify against caPem or the system roots, and the name against sni or subjectAltNames;
 * skipVerify, ingress-nginx's unverified HTTPS/GRPCS, takes any certificate but still encrypts).
 */
export function tlsOptions(t: UpstreamTls, alpn: string[]): tls.ConnectionOptions {
  const names = t.subjectAltNames;
  const client = clientCerts.get(t);
  return {
    servername: t.sni,
    ...(client === undefined ? {} : { cert: client.certPem, key: client.keyPem }),
    ...(t.caPem === undefined ? {} : { ca: t.caPem }),
    minVersion: "TLSv1.2",
    ALPNProtocols: alpn,
    ...(t.skipVerify === true ? { rejectUnauthorized: false } : {}),
    checkServerIdentity:
      t.skipVerify === true
        ? () => undefined
        : names === undefined
          ? (_host, cert) => tls.checkServerIdentity(t.sni, cert)
          : (_host, cert) => {
              for (const n of names) if (sanMatches(n, cert)) return undefined;
              return new Error(`certificate matches none of ${names.join(", ")}`);
            },
  };
}

// connectTls opens a TLS connection to a backend under policy t, resuming its last session.
function connectTls(backend: Backend, t: UpstreamTls): tls.TLSSocket {
  const key = `${backend.id}|${policyKey(t)}`;
  const s = tls.connect({
    host: backend.address,
    port: backend.port,
    ...tlsOptions(t, ["http/1.1"]),
    session: sessions.get(key),
  });
  s.setNoDelay(true);
  s.on("session", (session: Buffer) => sessions.set(key, session));
  return s;
}

/** sharedPool is the process-wide pool: keep-alive connections outlive snapshot swaps. */
export const sharedPool = new UpstreamPool();
