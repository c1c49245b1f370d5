// Compare runs: overlaid metric charts, parallel coordinates over params and metrics (on a
// canvas, for hundreds of runs), and a diff table with the differences highlighted.
import { api, seg } from "../api.js";
import { lineChart } from "../charts.js";
import { parallelCoordinates } from "../parallel.js";
import { h, link, section, fmtValue, pageHeader, errorBox, short } from "../dom.js";

const MAX_OVERLAY = 20;
const MAX_DIFF_COLUMNS = 50;

async function loadRuns(query) {
  let ids = (query.get("runs") || "").split(",").filter(Boolean);
  let experiments = [];
  if (!ids.length) {
    const saved = JSON.parse(sessionStorage.getItem("shipyard.compare") || "null");
    if (saved) ({ runs: ids, experiments } = saved);
  }
  if (!ids.length) return [];
  if (experiments.length) {
    const quoted = ids.map((id) => `'${id.replace(/[^0-9a-zA-Z_-]/g, "")}'`).join(", ");
    const page = await api("/runs/search", { method: "POST", body: { experiment_ids: experiments, filter: `run_id in (${quoted})`, limit: ids.length } });
    return page.runs;
  }
  return Promise.all(ids.map((id) => api(`/runs/${seg(id)}`)));
}

export async function render(_params, query) {
  const runs = await loadRuns(query);
  if (runs.length < 2) {
    return h("div", {}, pageHeader("Compare runs"), h("p", {}, "Select two runs or more in an experiment's runs table, then press Compare."));
  }
  const params = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const label = (r) => r.name || short(r.id);
  return h("div", {},
    pageHeader(`Compare ${runs.length} runs`),
    overlaySection(runs, metrics, label),
    parallelSection(runs, params, metrics),
    diffSection(runs, params, metrics, label));
}

function overlaySection(runs, metrics, label) {
  if (!metrics.length) return section("Metrics", h("p", { class: "empty" }, "These runs logged no metrics."));
  const pick = h("select", { id: "overlay-metric" }, metrics.map((m) => h("option", { value: m }, m)));
  const slot = h("div", { id: "overlay" });
  async function draw() {
    const key = pick.value;
    const shown = runs.filter((r) => key in r.metrics).slice(0, MAX_OVERLAY);
    slot.setAttribute("aria-busy", "true");
    try {
      const histories = await Promise.all(shown.map((r) => api(`/runs/${seg(r.id)}/metrics/${seg(key)}/history?max_points=500`)));
      slot.replaceChildren(lineChart(`${key} by step${shown.length < runs.length ? ` (first ${shown.length} runs with it)` : ""}`,
        histories.map((hist, i) => ({ label: label(shown[i]), x: hist.step, y: hist.value })), { width: 900, height: 300 }));
    } catch (error) {
      slot.replaceChildren(errorBox(error));
    }
    slot.removeAttribute("aria-busy");
  }
  pick.addEventListener("change", draw);
  draw();
  return section("Metrics", h("div", { class: "toolbar" }, h("label", { for: "overlay-metric" }, "Metric"), pick), slot);
}

function parallelSection(runs, params, metrics) {
  const axes = [
    ...params.slice(0, 10).map((k) => ({ label: k, value: (r) => r.params[k] })),
    ...metrics.slice(0, 10).map((k) => ({ label: k, value: (r) => r.metrics[k] })),
  ];
  const canvas = h("canvas", { class: "parallel", id: "parallel", role: "img", "aria-label": `Parallel coordinates of ${runs.length} runs over ${axes.map((a) => a.label).join(", ")}; the diff table below has the values` });
  requestAnimationFrame(() => parallelCoordinates(canvas, runs, axes));
  return section("Parallel coordinates", canvas, h("p", { class: "legend-note" }, "One line per run; colour follows the last axis (blue low, red high)."));
}

function diffSection(runs, params, metrics, label) {
  const shown = runs.slice(0, MAX_DIFF_COLUMNS);
  const onlyDiff = h("input", { type: "checkbox", id: "only-diff" });
  const rows = [
    ...params.map((k) => ({ kind: "param", key: k, values: shown.map((r) => r.params[k]) })),
    ...metrics.map((k) => ({ kind: "metric", key: k, values: shown.map((r) => r.metrics[k]) })),
  ].map((row) => ({ ...row, differs: new Set(row.values.map((v) => JSON.stringify(v ?? null))).size > 1 }));
  const body = h("tbody", {}, rows.map((row) => h("tr", { class: row.differs ? "differs" : "", dataset: { differs: row.differs ? "1" : "0" } },
    h("th", { scope: "row" }, `${row.kind} ${row.key}`, row.differs ? h("span", { class: "sr-only" }, " (differs)") : null),
    row.values.map((v) => h("td", { class: row.kind === "metric" ? "num" : "" }, fmtValue(v))))));
  onlyDiff.addEventListener("change", () => {
    for (const tr of body.rows) tr.hidden = onlyDiff.checked && tr.dataset.differs === "0";
  });
  return section("Differences",
    h("div", { class: "toolbar" }, onlyDiff, h("label", { for: "only-diff" }, "Only rows that differ"),
      shown.length < runs.length ? h("span", { class: "muted" }, `first ${shown.length} of ${runs.length} runs`) : null),
    h("div", { class: "table-wrap" }, h("table", { id: "diff" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), shown.map((r) => h("th", { scope: "col" }, link(`/runs/${seg(r.id)}`, label(r)))))),
      body)));
}
