// announce-agent.ts: a small program the announcement tests run inside a network namespace (the
// test process itself cannot enter one): an HTTP backend, a one-shot client, and load generators
// that record every request's start, end and outcome. It reads one JSON command per line on stdin
// and answers one JSON line on stdout with the same id. Times are wall-clock milliseconds
// (performance.timeOrigin + performance.now()), so the test can line them up with its own.
import { createServer, request, Agent } from "node:http";
import { createInterface } from "node:readline";

/** Cmd is one request from the test. */
type Cmd =
  | { id: number; op: "serve"; host: string; port: number; name: string }
  | { id: number; op: "get"; url: string; timeoutMs?: number }
  | {
      id: number;
      op: "load";
      url: string;
      mode: "fresh" | "keepalive";
      clients: number;
      timeoutMs?: number;
      intervalMs?: number;
    }
  | { id: number; op: "since"; load: number; t: number }
  | { id: number; op: "stop"; load: number };

/** Rec is one request: start and end (ms), ok, the error code or status when it failed, the body, and
 * the client's port (0 when the connection never opened): the flow that announce-flows.ts sees. */
type Rec = [t0: number, t1: number, ok: 0 | 1, why: string, body: string, port: number];

const now = () => performance.timeOrigin + performance.now();
const reply = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

/** one sends a GET and resolves with its record (never rejects). */
function one(url: string, agent: Agent | false, timeoutMs: number): Promise<Rec> {
  const t0 = now();
  return new Promise((resolve) => {
    let done = false;
    let port = 0;
    const finish = (ok: 0 | 1, why: string, body = "") => {
      if (done) return;
      done = true;
      resolve([t0, now(), ok, why, body.trim(), port]);
    };
    const req = request(url, { agent, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => finish(res.statusCode === 200 ? 1 : 0, String(res.statusCode), body));
      res.on("error", (e) => finish(0, (e as NodeJS.ErrnoException).code ?? e.message));
    });
    // A timeout is its own outcome: a frozen or unreachable engine, not a refusal or a reset.
    // Decided after one poll phase (setImmediate): the idle timer fires in the loop's timers phase,
    // before the poll phase reads what arrived meanwhile, so when this process itself waited for a
    // CPU longer than timeoutMs (a loaded machine) an answer already in its socket buffer would be
    // called a timeout.
    req.on("timeout", () =>
      setImmediate(() => {
        if (done) return;
        finish(0, "TIMEOUT");
        req.destroy();
      }),
    );
    req.on("error", (e) => finish(0, (e as NodeJS.ErrnoException).code ?? e.message));
    // The port is known once connected (a kept-alive socket is already); a reset socket forgets it.
    req.on("socket", (s) => {
      if (s.localPort) port = s.localPort;
      else s.once("connect", () => (port = s.localPort ?? 0));
    });
    req.end();
  });
}

const loads = new Map<number, { recs: Rec[]; stop(): Promise<void> }>();

function startLoad(c: Extract<Cmd, { op: "load" }>): void {
  const recs: Rec[] = [];
  let stopping = false;
  const loops: Promise<void>[] = [];
  const agents: Agent[] = [];
  for (let i = 0; i < c.clients; i++) {
    // keepalive: one connection per client, reused until it fails; fresh: a new connection per request.
    const agent = c.mode === "keepalive" ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
    if (agent) agents.push(agent);
    loops.push(
      (async () => {
        while (!stopping) {
          const t0 = now();
          recs.push(await one(c.url, agent, c.timeoutMs ?? 2000));
          // One request per interval at most, failed or not: a refused request returns at once,
          // and counting those as fast as they come would count the loop, not the outage.
          const wait = t0 + (c.intervalMs ?? 20) - now();
          await new Promise((r) => setTimeout(r, Math.max(1, wait)));
        }
      })(),
    );
  }
  loads.set(c.id, {
    recs,
    async stop() {
      stopping = true;
      await Promise.all(loops);
      for (const a of agents) a.destroy();
    },
  });
}

async function handle(c: Cmd): Promise<object> {
  switch (c.op) {
    case "serve": {
      const server = createServer((req, res) => {
        req.resume();
        const slow = /[?&]ms=(\d+)/.exec(req.url ?? "");
        // The backend's name and who connected to it: the engine's address tells which engine proxied.
        const answer = () => res.end(`${c.name} ${req.socket.remoteAddress}\n`);
        req.on("end", () => (slow ? setTimeout(answer, Number(slow[1])) : answer()));
      });
      server.keepAliveTimeout = 60_000;
      await new Promise<void>((r) => server.listen(c.port, c.host, r));
      return {};
    }
    case "get": {
      const [t0, t1, ok, why, body] = await one(c.url, false, c.timeoutMs ?? 3000);
      return { t0, t1, ok: ok === 1, why, body };
    }
    case "load":
      startLoad(c);
      return {};
    case "since": {
      const l = loads.get(c.load);
      return { recs: l ? l.recs.filter((r) => r[0] >= c.t) : [] };
    }
    case "stop": {
      const l = loads.get(c.load);
      if (!l) return { recs: [] };
      await l.stop();
      loads.delete(c.load);
      return { recs: l.recs };
    }
  }
}

createInterface({ input: process.stdin }).on("line", (line) => {
  const c = JSON.parse(line) as Cmd;
  handle(c).then(
    (r) => reply({ id: c.id, ...r }),
    (e: unknown) => reply({ id: c.id, error: String(e) }),
  );
});
// The test closing stdin (or dying) ends the agent, so nothing is left in the namespace.
process.stdin.on("end", () => process.exit(0));
