// prom.ts: a minimal Prometheus registry (counters, gauges, fixed-bucket histograms) rendered in
// text exposition format 0.0.4. Series are kept in maps keyed by label values; callers bound the
// values (see metrics.ts), so this file only stores and renders.

/** DEFAULT_BUCKETS are latency bucket bounds in seconds, 1ms to 10s. */
export const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** escapeLabel escapes a label value per the exposition format. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return Number.isNaN(v) ? "NaN" : String(v);
}

/** Family is one metric name with its HELP, TYPE and series. */
export abstract class Family {
  readonly name: string;
  readonly help: string;
  readonly labels: readonly string[];
  abstract readonly type: "counter" | "gauge" | "histogram";

  constructor(name: string, help: string, labels: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labels = labels;
  }

  /** render appends this family's lines. */
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    out.push(`# TYPE ${this.name} ${this.type}`);
    this.renderSeries(out);
  }

  protected abstract renderSeries(out: string[]): void;
}

const SEP = "\u0000";

/** CounterSeries is one series of a Counter: a hot path holding it adds with `s.v += n`. */
export interface CounterSeries {
  readonly values: string[];
  v: number;
}

/** HistogramSeries is one series of a Histogram, for Histogram.record. */
export interface HistogramSeries {
  readonly values: string[];
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** Counter (or gauge) holds one number per label set. */
export class Counter extends Family {
  readonly type: "counter" | "gauge" = "counter";
  private readonly series = new Map<string, CounterSeries>();

  /** child returns the series of values (created at 0), to keep and add to without a lookup. */
  child(values: string[]): CounterSeries {
    const key = values.join(SEP);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { values, v: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  /** add increases (counter) or changes (gauge) a series. */
  add(values: string[], delta = 1): void {
    this.child(values).v += delta;
  }

  /** set replaces a series' value (gauges). */
  set(values: string[], v: number): void {
    const key = values.join(SEP);
    const s = this.series.get(key);
    if (s) s.v = v;
    else this.series.set(key, { values, v });
  }

  /** delete drops a series (a gauge of something that is gone). */
  delete(values: string[]): void {
    this.series.delete(values.join(SEP));
  }

  /** get reads a series (tests, status pages). */
  get(values: string[]): number | undefined {
    return this.series.get(values.join(SEP))?.v;
  }

  protected renderSeries(out: string[]): void {
    for (const key of [...this.series.keys()].sort()) {
      const s = this.series.get(key)!;
      out.push(`${this.name}${labelText(this.labels, s.values)} ${num(s.v)}`);
    }
  }
}

/** Gauge is a Counter whose values may go down. */
export class Gauge extends Counter {
  override readonly type = "gauge";
}

/** Histogram counts observations into fixed buckets per label set. */
export class Histogram extends Family {
  readonly type = "histogram";
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    name: string,
    help: string,
    labels: readonly string[],
    bounds: readonly number[] = DEFAULT_BUCKETS,
  ) {
    super(name, help, labels);
    this.bounds = bounds;
  }

  /** observe records one value. */
  observe(values: string[], v: number): void {
    this.record(this.child(values), v);
  }

  /** child returns the series of values (created empty), to keep and record into without a lookup. */
  child(values: string[]): HistogramSeries {
    const key = values.join(SEP);
    let s = this.series.get(key);
    if (!s) {
      s = { values, counts: new Float64Array(this.bounds.length), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  /** record adds one value to s, a series of this histogram (from child). */
  record(s: HistogramSeries, v: number): void {
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++)
      if (v <= bounds[i]!) {
        s.counts[i]!++;
        break;
      }
    s.sum += v;
    s.count++;
  }

  protected renderSeries(out: string[]): void {
    for (const key of [...this.series.keys()].sort()) {
      const s = this.series.get(key)!;
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        out.push(
          `${this.name}_bucket${labelText(this.labels, s.values, `le="${num(this.bounds[i]!)}"`)} ${cumulative}`,
        );
      }
      out.push(`${this.name}_bucket${labelText(this.labels, s.values, 'le="+Inf"')} ${s.count}`);
      out.push(`${this.name}_sum${labelText(this.labels, s.values)} ${num(s.sum)}`);
      out.push(`${this.name}_count${labelText(this.labels, s.values)} ${s.count}`);
    }
  }
}
