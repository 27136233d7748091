// metrics-labels.ts: every series an engine exposes carries engine="NAME",group="G", so one
// Prometheus scraping many engines (a ServiceMonitor over a group) tells them apart and sums by group.
import { escapeLabel } from "../engine/prom.ts";

/**
 * addLabels puts labels first on every sample line of a Prometheus text exposition; comments and
 * blank lines pass unchanged. The labels go right after the metric name, so the existing label set
 * (whose values may hold any character) is never parsed.
 */
export function addLabels(text: string, labels: Record<string, string>): string {
  const set = Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(",");
  if (set === "") return text;
  return text
    .split("\n")
    .map((line) => {
      if (line === "" || line.startsWith("#")) return line;
      const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
      if (!m) return line;
      const name = m[0];
      const rest = line.slice(name.length);
      if (rest.startsWith("{}")) return `${name}{${set}}${rest.slice(2)}`;
      if (rest.startsWith("{")) return `${name}{${set},${rest.slice(1)}`;
      return `${name}{${set}}${rest}`;
    })
    .join("\n");
}
