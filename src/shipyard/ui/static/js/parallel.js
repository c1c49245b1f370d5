// Parallel coordinates on a canvas: one polyline per run over params and metrics, fast for
// hundreds of runs (no DOM node per line). Categorical axes spread their values evenly.
import { PALETTE } from "./charts.js";

export function parallelCoordinates(canvas, runs, axes) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 900;
  const height = canvas.clientHeight || 380;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  const top = 30;
  const bottom = height - 52;
  const left = 50;
  const step = axes.length > 1 ? (width - 2 * left) / (axes.length - 1) : 0;

  const scales = axes.map((axis) => {
    const values = runs.map(axis.value).filter((v) => v !== undefined && v !== null && v !== "");
    const numeric = values.length > 0 && values.every((v) => !Number.isNaN(Number(v)));
    if (numeric) {
      const nums = values.map(Number);
      const lo = Math.min(...nums);
      const hi = Math.max(...nums);
      return { numeric, lo, hi, y: (v) => bottom - (hi === lo ? 0.5 : (Number(v) - lo) / (hi - lo)) * (bottom - top) };
    }
    const levels = [...new Set(values.map(String))].sort();
    return { numeric, levels, y: (v) => bottom - (levels.length < 2 ? 0.5 : levels.indexOf(String(v)) / (levels.length - 1)) * (bottom - top) };
  });

  const colorAxis = axes.length - 1;
  const cs = scales[colorAxis];
  ctx.globalAlpha = runs.length > 100 ? 0.35 : 0.8;
  ctx.lineWidth = 1.2;
  runs.forEach((run, i) => {
    const v = axes[colorAxis] ? axes[colorAxis].value(run) : null;
    const t = cs && cs.numeric && v !== undefined && v !== null ? (cs.hi === cs.lo ? 0.5 : (Number(v) - cs.lo) / (cs.hi - cs.lo)) : null;
    ctx.strokeStyle = t === null ? PALETTE[i % PALETTE.length] : `hsl(${Math.round(220 - 200 * t)}, 75%, 40%)`;
    ctx.beginPath();
    let drawing = false;
    axes.forEach((axis, a) => {
      const value = axis.value(run);
      if (value === undefined || value === null || value === "") { drawing = false; return; }
      const x = left + a * step;
      const y = scales[a].y(value);
      if (drawing) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      drawing = true;
    });
    ctx.stroke();
  });
  ctx.globalAlpha = 1;
  ctx.fillStyle = "#1b1f24";
  ctx.strokeStyle = "#4a525c";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "center";
  axes.forEach((axis, a) => {
    const x = left + a * step;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, bottom);
    ctx.stroke();
    ctx.fillText(axis.label.length > 22 ? `${axis.label.slice(0, 21)}…` : axis.label, x, height - 10);
    const s = scales[a];
    const hiLabel = s.numeric ? fmt(s.hi) : (s.levels || []).slice(-1)[0] || "";
    const loLabel = s.numeric ? fmt(s.lo) : (s.levels || [])[0] || "";
    ctx.fillText(String(hiLabel).slice(0, 14), x, top - 8);
    ctx.fillText(String(loLabel).slice(0, 14), x, bottom + 14);
  });
}

function fmt(v) {
  return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
}
