// dns-helpers.ts: DNS end-to-end helpers: IR builders for zones and servers, `dig`/`kdig`
// wrappers returning parsed answers, a raw UDP/TCP client, and a knotd child serving the same
// zones as a reference. Everything binds on 127.0.0.0/8 only.
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { DnsRecord, DnsServer, DnsZoneData, EngineSnapshot, Pool } from "../../src/model/ir.ts";
import { decodeMessage, encodeQuery, type Message } from "../../src/engine/dns/message.ts";
import { tempDir, waitFor } from "./harness.ts";

/** dnsZone builds a zone with SOA/NS defaults (SOA TTL 3600, minimum 300: negative TTL 300). */
export function dnsZone(name: string, records: DnsRecord[], over: Partial<DnsZoneData> = {}): DnsZoneData {
  return {
    name,
    soa: {
      mname: `ns1.${name}`,
      rname: `hostmaster.${name}`,
      serial: 2026120601,
      refresh: 3600,
      retry: 600,
      expire: 604800,
      minimum: 300,
      ttl: 3600,
    },
    ns: [`ns1.${name}`],
    nsTtl: 3600,
    records,
    ...over,
  };
}

/** rec builds a record with TTL 300. */
export function rec(
  name: string,
  type: DnsRecord["type"],
  value: string,
  over: Partial<DnsRecord> = {},
): DnsRecord {
  return { name, type, value, ttl: 300, ...over };
}

/** dnsServer builds a DnsServer on address:port. */
export function dnsServer(
  name: string,
  address: string,
  port: number,
  zones: DnsZoneData[],
  over: Partial<DnsServer> = {},
): DnsServer {
  return { name, address, port, zones, ...over };
}

/** dnsSnapshot is a snapshot serving only DNS (plus the pools health-aware records name). */
export function dnsSnapshot(version: number, dns: DnsServer[], pools: Pool[] = []): EngineSnapshot {
  return {
    version,
    l4: [],
    http: [],
    pools: Object.fromEntries(pools.map((p) => [p.name, p])),
    certificates: {},
    dns,
  };
}

/** DigAnswer is dig's parsed view of one response. */
export interface DigAnswer {
  rcode: string;
  /** flags are dig's header flags ("qr", "aa", "tc", "rd", "ra"). */
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  /** udpSize is the server's OPT UDP size; absent without an OPT record. */
  udpSize?: number;
}

/** DigOptions: tcp, bufsize (EDNS; undefined: dig's default EDNS), noEdns, ignore (keep truncated UDP answers). */
export interface DigOptions {
  tcp?: boolean;
  bufsize?: number;
  noEdns?: boolean;
  ignore?: boolean;
  /** tool is "dig" (default) or "kdig". */
  tool?: "dig" | "kdig";
  extra?: string[];
}

function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 20_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err && !stdout
        ? reject(new Error(`${cmd} ${args.join(" ")}: ${stderr || err.message}`))
        : resolve(stdout),
    ),
  );
}

/** dig asks server:port with +norec and returns the parsed response (dig +yaml; kdig's text). */
export async function dig(
  server: string,
  port: number,
  name: string,
  type: string,
  o: DigOptions = {},
): Promise<DigAnswer> {
  const kdig = o.tool === "kdig";
  const args = [`@${server}`, "-p", String(port), name, type, kdig ? "+norecurse" : "+norec"];
  args.push(...(kdig ? ["+timeout=3", "+retry=0"] : ["+time=3", "+tries=1"]));
  if (o.tcp) args.push("+tcp");
  if (o.noEdns) args.push(kdig ? "+noedns" : "+noedns");
  else if (o.bufsize !== undefined) args.push(`+bufsize=${o.bufsize}`);
  if (o.ignore) args.push("+ignore");
  args.push(...(o.extra ?? []));
  if (kdig) return parseKdig(await exec("kdig", args));
  const out = await exec("dig", [...args, "+yaml"]);
  const doc = (parseYaml(out) as { type: string; message: Record<string, unknown> }[])[0]!;
  if (doc.type === "DIG_ERROR") throw new Error(`dig: ${String(doc.message)}`);
  const data = doc.message.response_message_data as Record<string, unknown>;
  const opt = data.OPT_PSEUDOSECTION as { EDNS?: { udp?: number } } | undefined;
  const section = (k: string) => ((data[k] as string[] | undefined) ?? []).map(normalise);
  return {
    rcode: String(data.status),
    flags: String(data.flags).split(" ").filter(Boolean),
    answer: section("ANSWER_SECTION"),
    authority: section("AUTHORITY_SECTION"),
    additional: section("ADDITIONAL_SECTION"),
    ...(opt?.EDNS?.udp !== undefined ? { udpSize: opt.EDNS.udp } : {}),
  };
}

// normalise makes a record line "owner ttl TYPE rdata" (class dropped, single spaces).
function normalise(line: string): string {
  const f = line.trim().split(/\s+/);
  const rest = f.slice(4).join(" ");
  return `${f[0]} ${f[1]} ${f[3]} ${rest}`;
}

// parseKdig reads kdig's default text output.
function parseKdig(out: string): DigAnswer {
  const status = /status: (\w+)/.exec(out)?.[1] ?? "";
  const flags = (/;; Flags: ([^;]*);/.exec(out)?.[1] ?? "").split(" ").filter(Boolean);
  const udp = /;; Version: \d+; flags: [^;]*; UDP size: (\d+)/.exec(out)?.[1];
  const sections: Record<string, string[]> = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] };
  let cur: string[] | undefined;
  for (const line of out.split("\n")) {
    const h = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (h) cur = sections[h[1]!];
    else if (line.startsWith(";;") || line.trim() === "") cur = line.trim() === "" ? undefined : cur;
    else if (cur) cur.push(normalise(line));
  }
  return {
    rcode: status,
    flags,
    answer: sections.ANSWER!,
    authority: sections.AUTHORITY!,
    additional: sections.ADDITIONAL!,
    ...(udp !== undefined ? { udpSize: Number(udp) } : {}),
  };
}

/** ask sends one raw query over UDP or TCP and returns the raw response (undefined: none within timeoutMs). */
export async function ask(
  server: string,
  port: number,
  query: Buffer,
  transport: "udp" | "tcp" = "udp",
  timeoutMs = 2000,
): Promise<Buffer | undefined> {
  if (transport === "tcp") {
    const s = connect({ host: server, port });
    const head = Buffer.alloc(2);
    head.writeUInt16BE(query.length);
    s.write(Buffer.concat([head, query]));
    let buf = Buffer.alloc(0);
    s.on("data", (d: Buffer) => (buf = Buffer.concat([buf, d])));
    const timer = setTimeout(() => s.destroy(), timeoutMs);
    try {
      await waitFor(
        "tcp dns answer",
        () => (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) || s.destroyed,
        timeoutMs + 100,
      );
    } finally {
      clearTimeout(timer);
      s.destroy();
    }
    return buf.length >= 2 ? buf.subarray(2, 2 + buf.readUInt16BE(0)) : undefined;
  }
  const c = createSocket("udp4");
  try {
    c.bind(0, "127.0.0.1");
    await once(c, "listening");
    const got = once(c, "message") as Promise<[Buffer]>;
    c.send(query, port, server);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs)));
    const r = await Promise.race([got.then(([m]) => m), late]);
    clearTimeout(timer);
    return r;
  } finally {
    c.close();
  }
}

/** query asks name/type and decodes the answer (throws when none came). */
export async function query(
  server: string,
  port: number,
  name: string,
  type: number,
  opts: Parameters<typeof encodeQuery>[2] & { transport?: "udp" | "tcp"; timeoutMs?: number } = {},
): Promise<Message> {
  const r = await ask(server, port, encodeQuery(name, type, opts), opts.transport, opts.timeoutMs);
  if (r === undefined) throw new Error(`no answer for ${name}/${type} from ${server}:${port}`);
  return decodeMessage(r);
}

/** zoneFile renders a zone in RFC 1035 master-file syntax (for knot). */
export function zoneFile(z: DnsZoneData): string {
  const s = z.soa;
  const lines = [
    `$ORIGIN ${z.name}.`,
    `@ ${s.ttl} IN SOA ${s.mname}. ${s.rname}. ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`,
    ...z.ns.map((n) => `@ ${z.nsTtl} IN NS ${n}.`),
  ];
  for (const r of z.records) {
    const value = r.type === "CNAME" ? `${r.value}.` : r.type === "TXT" ? txtStrings(r.value) : r.value;
    lines.push(`${r.name}. ${r.ttl} IN ${r.type} ${value}`);
  }
  return lines.join("\n") + "\n";
}

// txtStrings splits a TXT value into quoted 255-byte strings, as the server encodes it.
function txtStrings(v: string): string {
  const b = Buffer.from(v, "utf8");
  const parts: string[] = [];
  for (let i = 0; i < b.length || i === 0; i += 255) {
    let q = "";
    for (const c of b.subarray(i, i + 255))
      q +=
        c === 0x22 || c === 0x5c
          ? `\\${String.fromCharCode(c)}`
          : c < 0x20 || c > 0x7e
            ? `\\${String(c).padStart(3, "0")}`
            : String.fromCharCode(c);
    parts.push(`"${q}"`);
  }
  return parts.join(" ");
}

/** Knot is a running knotd child. */
export interface Knot {
  address: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** startKnot runs knotd on address:port serving zones, and waits until it answers the first zone's SOA. */
export async function startKnot(address: string, port: number, zones: DnsZoneData[]): Promise<Knot> {
  const dir = tempDir("portico-knot-");
  mkdirSync(join(dir, "db"));
  for (const z of zones) writeFileSync(join(dir, `${z.name}.zone`), zoneFile(z));
  const conf = [
    "server:",
    `    rundir: "${dir}"`,
    `    listen: ${address}@${port}`,
    "    udp-workers: 1",
    "    tcp-workers: 1",
    "    background-workers: 1",
    "database:",
    `    storage: "${join(dir, "db")}"`,
    "log:",
    "  - target: stderr",
    "    any: warning",
    "template:",
    "  - id: default",
    `    storage: "${dir}"`,
    "    zonefile-sync: -1",
    "    journal-content: none",
    "zone:",
    ...zones.map((z) => `  - domain: ${z.name}\n    file: ${z.name}.zone`),
  ].join("\n");
  writeFileSync(join(dir, "knot.conf"), conf + "\n");
  const proc = spawn("knotd", ["-c", join(dir, "knot.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = once(proc, "exit");
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      "knotd answering",
      async () => {
        if (proc.exitCode !== null) throw new Error(`knotd exited: ${stderr}`);
        const m = await ask(address, port, encodeQuery(zones[0]!.name, 6), "udp", 300);
        return m !== undefined && decodeMessage(m).rcode === 0;
      },
      15_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, port, proc, stop };
}

/** toolSkip returns why a DNS test must skip (a Debian tool missing: scripts/peers.sh installs them), or false. */
export function toolSkip(...tools: string[]): string | false {
  const missing = tools.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
  if (missing.length === 0) return false;
  const why = `${missing.join(", ")} not installed (scripts/peers.sh installs dnsutils, knot, knot-dnsutils)`;
  process.stderr.write(`\n*** SKIPPING DNS tests: ${why} ***\n\n`);
  return why;
}

/** Prober sends many UDP queries from one socket and matches answers by id. */
export class Prober {
  private readonly socket: UdpSocket;
  private readonly waiting = new Map<number, (m: Buffer | undefined) => void>();
  private nextId = 1;

  private constructor(socket: UdpSocket) {
    this.socket = socket;
    socket.on("message", (m: Buffer) => {
      if (m.length < 2) return;
      const id = m.readUInt16BE(0);
      const w = this.waiting.get(id);
      this.waiting.delete(id);
      w?.(m);
    });
  }

  /** open binds a prober on 127.0.0.1. */
  static async open(): Promise<Prober> {
    const s = createSocket("udp4");
    s.bind(0, "127.0.0.1");
    await once(s, "listening");
    return new Prober(s);
  }

  /** send asks server:port; the query's id is replaced by the prober's; undefined when no answer came in timeoutMs. */
  send(server: string, port: number, query: Buffer, timeoutMs = 3000): Promise<Buffer | undefined> {
    const id = this.nextId;
    this.nextId = (this.nextId % 0xffff) + 1;
    const q = Buffer.from(query);
    q.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.socket.send(q, port, server);
    });
  }

  close(): void {
    this.socket.close();
  }
}
