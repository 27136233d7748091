// @ts-check
// chart.js: uPlot time charts. A chart is described while its page is drawn off-screen and
// created once the page is in the document (uPlot measures its container), then destroyed on the
// next redraw (uPlot holds window listeners until destroy()).
import uPlot from "./vendor/uPlot.esm.js";

const COLORS = ["#2f5fd0", "#c0392b", "#2f855a", "#b7791f", "#7b3fb5", "#0f7c8a", "#555"];

/** @type {WeakMap<Element, () => any>} */
const pending = new WeakMap();
/** @type {Map<Element, any>} */
const live = new Map();

/**
 * timeChart returns a placeholder for a chart of series over times (ms since the epoch).
 * @param {string} title
 * @param {number[]} times
 * @param {{label: string, values: (number | null)[]}[]} series
 * @param {string} unit shown on the y axis
 */
export function timeChart(title, times, series, unit) {
  const el = document.createElement("div");
  el.className = "card chart";
  el.setAttribute("data-chart", title);
  pending.set(el, () => {
    const width = Math.max(300, el.clientWidth - 28);
    const opts = {
      title,
      width,
      height: 200,
      series: [
        {},
        // Buckets without a sample are gaps (null): joined, and the points drawn while they are
        // few, so a service with traffic in a few buckets still shows them.
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          spanGaps: true,
          points: { show: s.values.filter((v) => v !== null && v !== 0).length < 60, size: 4 },
        })),
      ],
      axes: [{}, { label: unit, size: 60 }],
      legend: { live: true },
    };
    return new uPlot(opts, [times.map((t) => t / 1000), ...series.map((s) => s.values)], el);
  });
  return el;
}

/** mountCharts creates the charts now in root. @param {Element} root */
export function mountCharts(root) {
  for (const el of root.querySelectorAll("[data-chart]")) {
    const make = pending.get(el);
    if (make && !live.has(el)) live.set(el, make());
  }
}

/** destroyCharts destroys the charts in root. @param {Element} root */
export function destroyCharts(root) {
  for (const [el, chart] of live)
    if (root.contains(el)) {
      chart.destroy();
      live.delete(el);
    }
}
