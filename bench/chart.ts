// chart.ts: draws the run's throughput ratios to HAProxy as an SVG (hand-written, no library)
// and converts it to PNG with rsvg-convert (Debian's librsvg2-bin, the lightest converter).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import type { CaseSummary } from "./summary.ts";

const COLORS = { nginx: "#4c78a8", Portico: "#f58518" } as const;

/** esc escapes text for SVG. */
function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/**
 * ratioChartSvg draws, per test, one bar for nginx/HAProxy and one for Portico/HAProxy, a line
 * at 1.0 (HAProxy) and a tick at the test's target. Pure: the same summaries give the same SVG.
 */
export function ratioChartSvg(rows: readonly CaseSummary[], subtitle: string): string {
  const labelW = 350;
  const plotW = 520;
  const rowH = 46;
  const top = 70;
  const h = top + rows.length * rowH + 50;
  const w = labelW + plotW + 40;
  const maxRatio = Math.max(
    1.5,
    ...rows.flatMap((r) =>
      [r.ratios.nginxHaproxy ?? 0, r.ratios.porticoHaproxy ?? 0].map((x) => Math.ceil(x * 4) / 4),
    ),
  );
  const x = (v: number): number => labelW + (v / maxRatio) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="DejaVu Sans" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="16" y="26" font-size="17" font-weight="bold">Throughput relative to HAProxy (same run, proxy on one core)</text>`,
    `<text x="16" y="48" fill="#555">${esc(subtitle)}</text>`,
  ];
  for (let v = 0; v <= maxRatio + 1e-9; v += 0.25) {
    const major = Math.abs(v - Math.round(v * 2) / 2) < 1e-9;
    out.push(
      `<line x1="${x(v)}" y1="${top - 6}" x2="${x(v)}" y2="${top + rows.length * rowH}" stroke="${v === 1 ? "#000" : "#ddd"}" stroke-width="${v === 1 ? 1.5 : 1}"/>`,
    );
    if (major)
      out.push(
        `<text x="${x(v)}" y="${top + rows.length * rowH + 18}" text-anchor="middle">${v.toFixed(1)}×</text>`,
      );
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${labelW - 10}" y="${y + 25}" text-anchor="end">${esc(r.test.title)}</text>`);
    const bars: [keyof typeof COLORS, number | undefined][] = [
      ["nginx", r.ratios.nginxHaproxy],
      ["Portico", r.ratios.porticoHaproxy],
    ];
    bars.forEach(([name, v], j) => {
      const by = y + 6 + j * 17;
      if (v === undefined) {
        out.push(`<text x="${x(0) + 4}" y="${by + 12}" fill="#999">${name}: not run</text>`);
        return;
      }
      out.push(`<rect x="${x(0)}" y="${by}" width="${x(v) - x(0)}" height="15" fill="${COLORS[name]}"/>`);
      out.push(`<text x="${x(v) + 4}" y="${by + 12}" font-size="11">${v.toFixed(2)}</text>`);
    });
    if (r.test.target !== undefined) {
      out.push(
        `<line x1="${x(r.test.target)}" y1="${y + 2}" x2="${x(r.test.target)}" y2="${y + 42}" stroke="#d62728" stroke-width="2" stroke-dasharray="4 3"/>`,
      );
    }
  });
  const ly = h - 14;
  out.push(
    `<rect x="${labelW}" y="${ly - 11}" width="12" height="12" fill="${COLORS.nginx}"/><text x="${labelW + 16}" y="${ly}">nginx / HAProxy</text>`,
    `<rect x="${labelW + 150}" y="${ly - 11}" width="12" height="12" fill="${COLORS.Portico}"/><text x="${labelW + 166}" y="${ly}">Portico / HAProxy</text>`,
    `<line x1="${labelW + 320}" y1="${ly - 5}" x2="${labelW + 345}" y2="${ly - 5}" stroke="#d62728" stroke-width="2" stroke-dasharray="4 3"/><text x="${labelW + 350}" y="${ly}">Portico target</text>`,
    `</svg>`,
  );
  return out.join("\n") + "\n";
}

/** writeChart writes svgPath and converts it to pngPath. */
export function writeChart(svg: string, svgPath: string, pngPath: string): void {
  writeFileSync(svgPath, svg);
  execFileSync("rsvg-convert", ["-f", "png", "-o", pngPath, svgPath]);
}
