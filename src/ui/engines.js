// @ts-check
// engines.js: the engines serving this Portico's VIPs (GET /api/v1/engines: the fleet view), their
// load, and how many cores the measured traffic needs against the recorded calibration (what
// `portico size` computes). Without an engine port the answer is 404: one in-process engine.
import { api, bytes, h, note, num, pct, table } from "./lib.js";

/**
 * coresNeeded estimates the cores a load needs from the calibration's per-core capacities: plain
 * HTTP requests, HTTPS requests and TLS handshakes each take their share of a core.
 * @param {any} load
 * @param {any} cal
 */
export function coresNeeded(load, cal) {
  const per = cal?.perCore;
  if (!load || !per) return undefined;
  const tls = load.tlsRequestsPerSecond ?? 0;
  const plain = Math.max(0, (load.requestsPerSecond ?? 0) - tls);
  return (
    plain / per.httpRequestsPerSecond +
    tls / per.httpsRequestsPerSecond +
    (load.tlsHandshakesPerSecond ?? 0) / per.tlsHandshakesPerSecond
  );
}

/**
 * render draws the engines.
 * @param {HTMLElement} main
 */
export async function render(main) {
  const r = await api("/api/v1/engines");
  main.append(h("h1", null, "Engines"));
  if (r.status === 404)
    return void main.append(
      note(
        "In-process engine only: this Portico serves every VIP with the engine inside `portico run`, so there is no fleet to show. Its load is on /metrics; start `portico run --engine-listen HOST:PORT` (or run `portico controller` with EngineGroups) to add engines, and they appear here with their load and sizing advice.",
      ),
    );
  if (r.status !== 200) return void main.append(note(r.text ?? `GET /api/v1/engines answered ${r.status}`));
  const fleet = r.data;
  const cal = fleet.calibration;
  main.append(h("p", { class: "muted" }, `Controller epoch ${fleet.epoch}, push ${fleet.seq}.`));
  const engines = fleet.engines ?? [];
  if (engines.length === 0)
    main.append(
      note(
        "No engine has connected yet: engines dial the controller's engine port with its CA and token (docs/engines.md).",
      ),
    );
  else
    main.append(
      table(engines, [
        ["Engine", (e) => h("strong", null, e.identity?.name ?? "")],
        ["Group", (e) => e.identity?.group ?? ""],
        ["Node", (e) => e.identity?.node ?? ""],
        [
          "State",
          (e) =>
            (e.ready ? "ready" : e.connected ? "connected, not ready" : "disconnected") +
            (e.lastNack ? ` — refused: ${e.lastNack.error}` : ""),
        ],
        ["CPU cores", (e) => (e.load ? e.load.cpuCores.toFixed(2) : "–"), "num"],
        ["Loop busy", (e) => (e.load ? pct(e.load.eventLoopUtilization) : "–"), "num"],
        ["Requests/s", (e) => (e.load ? num(e.load.requestsPerSecond) : "–"), "num"],
        ["Conns open", (e) => (e.load ? num(e.load.connectionsOpen) : "–"), "num"],
        ["Memory", (e) => (e.load ? bytes(e.load.rssBytes) : "–"), "num"],
        [
          "Cores needed",
          (e) => {
            const c = coresNeeded(e.load, cal);
            return c === undefined ? "–" : c.toFixed(2);
          },
          "num",
        ],
      ]),
    );
  if (cal)
    main.append(
      h(
        "p",
        { class: "muted" },
        `Sizing uses the calibration of ${cal.measuredAt} (${cal.how}): one core serves ${num(cal.perCore.httpRequestsPerSecond)} HTTP or ${num(cal.perCore.httpsRequestsPerSecond)} HTTPS requests/s, ${num(cal.perCore.tlsHandshakesPerSecond)} handshakes/s. \`portico size\` gives the full advice.`,
      ),
    );
  else
    main.append(
      note(
        "No calibration recorded, so no sizing advice: run `portico calibrate` on an engine's machine, then `portico size`.",
      ),
    );
}
