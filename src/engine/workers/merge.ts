// merge.ts: sums the Prometheus expositions of several engine workers into one, so /metrics
// shows the whole data plane. Counters, histogram buckets/sums/counts and connection gauges add
// up across workers; portico_backend_healthy takes the maximum (a backend is up if a worker uses
// it). Pure: text in, text out. Samples stay grouped under their family's HELP/TYPE lines.
// mergeListeners does the same for bind state: a listener is bound only if every worker bound it.
import type { ListenerState, ListenerStatus } from "../listeners.ts";

// OCSP: every worker fetches for itself; a certificate is stapled if a worker staples it.
const MAX_FAMILIES = new Set([
  "portico_backend_healthy",
  "portico_ocsp_stapling",
  "portico_ocsp_next_update_timestamp_seconds",
]);

interface Family {
  comments: string[];
  keys: string[];
  values: Map<string, number>;
}

/** mergeExpositions merges Prometheus text format 0.0.4 documents sample by sample. */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  const get = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { comments: [], keys: [], values: new Map() }));
    return f;
  };
  for (const text of texts) {
    // Samples belong to the family of the last HELP/TYPE line (histograms add _bucket, _sum...).
    let current = "";
    for (const line of text.split("\n")) {
      if (line === "") continue;
      if (line.startsWith("#")) {
        const m = /^# (?:HELP|TYPE) (\S+)/.exec(line);
        if (m !== null) current = m[1]!;
        const f = get(current);
        if (!f.comments.includes(line)) f.comments.push(line);
        continue;
      }
      const sp = line.lastIndexOf(" ");
      const key = line.slice(0, sp);
      const v = Number(line.slice(sp + 1));
      const f = get(current || key.replace(/[{ ].*$/, ""));
      const prev = f.values.get(key);
      if (prev === undefined) {
        f.keys.push(key);
        f.values.set(key, v);
      } else f.values.set(key, MAX_FAMILIES.has(current) ? Math.max(prev, v) : prev + v);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    out.push(...f.comments);
    for (const k of f.keys) out.push(`${k} ${format(f.values.get(k)!)}`);
  }
  return out.join("\n") + "\n";
}

function format(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(15)));
}

// Worse states first: one failing worker makes the listener failing.
const badness: Record<ListenerState, number> = { error: 3, binding: 2, closed: 1, bound: 0 };

/** mergeListeners joins the workers' listener lists by key, keeping each key's worst state. */
export function mergeListeners(lists: readonly (readonly ListenerStatus[])[]): ListenerStatus[] {
  const byKey = new Map<string, ListenerStatus>();
  for (const list of lists)
    for (const l of list) {
      const prev = byKey.get(l.key);
      if (prev === undefined || badness[l.state] > badness[prev.state]) byKey.set(l.key, l);
    }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}
