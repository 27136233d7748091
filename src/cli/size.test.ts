// size.test.ts: `portico size` as users run it. GET /api/v1/engines is not on main yet (another
// change adds the route), so these tests serve a FleetView fixture from a small real HTTP server
// and point --admin at it; the command cannot tell the difference. The calibration runs for real
// (wrk, nginx, one engine process) with 1-second runs when the tools are installed.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { EngineView, FleetView } from "../controller/fleet/view.ts";
import type { Calibration } from "../k8s/engine-group.ts";
import { idleLoad } from "../engine/load.ts";
import { readCalibration, writeCalibration } from "../state/calibration.ts";

const main = join(import.meta.dirname, "main.ts");
const CAL: Calibration = {
  measuredAt: "2026-12-06T17:00:00Z",
  how: "fixture",
  perCore: { httpRequestsPerSecond: 40_000, httpsRequestsPerSecond: 22_600, tlsHandshakesPerSecond: 2_000 },
};

function size(args: string[], env: NodeJS.ProcessEnv = process.env, timeout = 20_000) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", main, "size", ...args],
      { env, timeout },
      (err, stdout, stderr) => {
        const code = (err as { code?: unknown } | null)?.code;
        resolve({ code: err ? (typeof code === "number" ? code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** engine is one EngineView reporting `rps` HTTPS requests/s every 2 s for the last 10 minutes. */
function engine(name: string, group: string, vcpu: number, rps: number, now: number): EngineView {
  const history = Array.from({ length: 300 }, (_, k) => ({
    ...idleLoad(now - (299 - k) * 2000, 2000),
    requestsPerSecond: rps,
    tlsRequestsPerSecond: rps,
    cpuCores: 0.5,
  }));
  return {
    identity: {
      name,
      group,
      node: "n1",
      version: "0.1.0",
      pid: 1,
      vcpu,
      memoryBytes: 1 << 30,
      limits: { maxConnections: 0, maxConnectionRate: 0 },
    },
    local: false,
    connected: true,
    lastHeardMsAgo: 100,
    ready: true,
    listeners: [],
    load: history[history.length - 1],
    history,
  };
}

let fleet: FleetView;
let server: Server;
let admin = "";
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "portico-size-"));
  dirs.push(d);
  return d;
};

before(async () => {
  const now = Date.now();
  fleet = {
    epoch: 1,
    seq: 3,
    engines: [engine("web-a", "web", 1, 19_000, now), engine("web-b", "web", 1, 19_000, now)],
  };
  server = createServer((req, res) => {
    if (req.url !== "/api/v1/engines") {
      res.writeHead(404, { "content-type": "application/json" }).end("{}");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(fleet));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  admin = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("portico size: per-group table and advice, with the calibration of the state directory", async () => {
  const dir = tempDir();
  writeCalibration(dir, CAL);
  const r = await size(["--admin", admin, "--state-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`^calibration \\(${dir}/calibration.json\\), measured 2026-12-06T17:00:00Z`),
  );
  assert.match(r.stdout, /^GROUP\s+ENGINES\s+VCPU\s+PEAK REQ\/S\s+SATURATION$/m);
  assert.match(r.stdout, /^web\s+2\s+2\s+38k\s+84%$/m);
  assert.match(
    r.stdout,
    /^group web: peak 38k req\/s HTTPS over the last hour on 2 engines × 1 vCPU, 84% of measured capacity; for 30% headroom run 3 engines or 2 × 2 vCPU$/m,
  );
  // Headroom and window change the advice.
  const h = await size(["--admin", admin, "--state-dir", dir, "--headroom", "10%", "--window", "15m"]);
  assert.match(h.stdout, /over the last 15 min .* 84% of measured capacity; 10% headroom holds$/m);
});

test("portico size -o json, --group, and the controller's calibration first", async () => {
  fleet.calibration = { ...CAL, perCore: { ...CAL.perCore, httpsRequestsPerSecond: 11_300 } };
  fleet.engines.push(engine("local", "default", 2, 0, Date.now()));
  try {
    const r = await size(["--admin", admin, "--state-dir", tempDir(), "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      calibration: { source: string };
      groups: { group: string; peak?: { utilization: number } }[];
    };
    assert.equal(doc.calibration.source, "from the controller");
    assert.deepEqual(
      doc.groups.map((g) => g.group),
      ["default", "web"],
    );
    // Priced at the controller's halved HTTPS figure: 19k / 11.3k per engine, overloaded.
    assert.equal(Math.round(doc.groups[1]!.peak!.utilization * 100), 168);
    const one = await size(["--admin", admin, "--group", "default", "--state-dir", tempDir()]);
    assert.equal(one.code, 0, one.stderr);
    assert.doesNotMatch(one.stdout, /^web/m);
    assert.match(
      one.stdout,
      /^group default: peak 0 req\/s over the last hour on 1 engine × 2 vCPU, 25% of measured capacity; 30% headroom holds$/m,
    );
  } finally {
    delete fleet.calibration;
    fleet.engines.pop();
  }
});

test("portico size without calibration says so and how to get one", async () => {
  const r = await size(["--admin", admin, "--state-dir", tempDir()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^no calibration recorded: saturation is CPU use only; run `portico size --calibrate`/,
  );
  assert.match(r.stdout, /^web\s+2\s+2\s+38k\s+50% \(CPU\)$/m);
  assert.match(
    r.stdout,
    /50% CPU of 2 vCPU; 30% headroom holds \(no calibration: .*portico size --calibrate/,
  );
});

test("portico size: bad flags exit 2 naming the flag; no Portico or no such group exit 1", async () => {
  const cases: [string[], number, RegExp][] = [
    [["--headroom", "95%"], 2, /--headroom must be a share like 30% \(0-90%\), not "95%"/],
    [["--window", "1y"], 2, /--window must be a duration from 10s to 24h/],
    [["-o", "yaml"], 2, /-o must be table or json, not "yaml"/],
    [["--calibrate", "--group", "web"], 2, /--group: not used by --calibrate/],
    [["--duration", "5s"], 2, /--duration is for --calibrate/],
    [["--admin", admin, "--group", "nope"], 1, /group nope: no engines of that group are connected/],
    [
      ["--admin", "127.0.0.1:1"],
      1,
      /cannot reach a running Portico at http:\/\/127.0.0.1:1\/api\/v1\/engines/,
    ],
  ];
  for (const [args, code, message] of cases) {
    const r = await size([...args, "--state-dir", tempDir()]);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test("portico size --calibrate without wrk: one line saying how to install it", async () => {
  const r = await size(["--calibrate", "--state-dir", tempDir()], { ...process.env, PATH: "/nonexistent" });
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    "portico: portico size --calibrate needs wrk (the load generator): install it (apt-get install wrk, or sh scripts/peers.sh) and run again\n",
  );
});

const tools = ["wrk", "nginx", "taskset"].every(
  (t) => spawnSync(t, ["-v"], { stdio: "ignore" }).error === undefined,
);
test(
  "portico size --calibrate measures per-core figures and records them where portico size reads them",
  { skip: tools ? false : "wrk, nginx or taskset is not installed (sh scripts/peers.sh)" },
  async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "calibration.json"), "{}"); // replaced, not appended to
    const r = await size(["--calibrate", "--duration", "1s", "--state-dir", dir], process.env, 120_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^per core: \d+ req\/s HTTP keep-alive, \d+ req\/s HTTPS keep-alive, \d+ TLS handshakes\/s/,
    );
    assert.match(
      r.stdout,
      /^how: portico size --calibrate --duration 1s: one engine process .* machine: .* × \d+$/m,
    );
    const cal = readCalibration(dir)!;
    const p = cal.perCore;
    // Loose sanity only (a shared machine): handshakes cost far more than keep-alive requests.
    assert.ok(p.httpRequestsPerSecond > 0 && p.httpsRequestsPerSecond > 0 && p.tlsHandshakesPerSecond > 0);
    assert.ok(p.tlsHandshakesPerSecond < p.httpsRequestsPerSecond, JSON.stringify(p));
    assert.match(r.stderr, /^calibrate: https-handshake: \d+ req\/s using [\d.]+ cores → \d+ per core$/m);
  },
);
