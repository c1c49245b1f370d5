// Metric charts with uPlot: a downsampled history per run, step or time on x, smoothing.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { h } from "./dom.js";

export const PALETTE = ["#0b5cad", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#334155"];

// Exponential moving average with weight in [0, 1) (0: none), skipping nulls.
export function smooth(values, weight) {
  if (!weight) return values;
  const out = new Array(values.length);
  let last = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || Number.isNaN(v)) { out[i] = null; continue; }
    last = last === null ? v : last * weight + (1 - weight) * v;
    out[i] = last;
  }
  return out;
}

// Series of {label, x: [], y: []} on one x axis: merge their x values (uPlot wants one).
export function align(series) {
  if (series.length === 1) return [series[0].x, series[0].y];
  const xs = Array.from(new Set(series.flatMap((s) => s.x))).sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const col = new Array(xs.length).fill(null);
    s.x.forEach((x, i) => { col[index.get(x)] = s.y[i]; });
    return col;
  });
  return [xs, ...ys];
}

// A chart element; `series` is [{label, x, y}], `time` says whether x is epoch ms.
export function lineChart(title, series, { time = false, width = 460, height = 240, xLabel } = {}) {
  const box = h("figure", { class: "chart", "aria-label": `Chart of ${title}` }, h("h3", {}, title));
  const data = align(series);
  if (time) data[0] = data[0].map((ms) => ms / 1000);
  const few = data[0].length <= 60; // a dot per point when there are few of them
  const opts = {
    width, height,
    scales: { x: { time } },
    axes: [{ label: xLabel || (time ? "" : "step") }, {}],
    legend: { show: series.length <= 12 },
    series: [{ label: time ? "time" : "step" }, ...series.map((s, i) => ({
      label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true, points: { show: few, size: 6 },
    }))],
  };
  const plot = new uPlot(opts, data, box);
  box.plot = plot;
  box.dataset.points = String(data[0].length);
  return box;
}
