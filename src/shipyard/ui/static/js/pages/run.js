// One run: its summary, params, tags, environment, metric charts (downsampled on the server,
// step or time axis, smoothing), artifacts with previews, and a link into its lineage.
import { api, seg } from "../api.js";
import { lineChart, smooth } from "../charts.js";
import { h, link, table, kvTable, section, fmtTime, fmtDuration, fmtValue, statusBadge, pageHeader, short, errorBox } from "../dom.js";
import { artifactsSection } from "../artifacts.js";

const MAX_CHARTS = 12;
const ENV_TAGS = ["shipyard.git.commit", "shipyard.git.branch", "shipyard.git.dirty", "shipyard.source", "shipyard.python", "shipyard.platform", "shipyard.packages.sha256", "shipyard.packages.count", "shipyard.host", "shipyard.user"];

export async function render(params) {
  const run = await api(`/runs/${seg(params.run)}`);
  // the experiment (for its name) and the charts' histories are asked for at once
  const experimentRequest = api(`/experiments/${seg(run.experiment_id)}`).catch(() => null);
  const userTags = Object.fromEntries(Object.entries(run.tags).filter(([k]) => !k.startsWith("shipyard.")));
  const env = Object.fromEntries(ENV_TAGS.filter((k) => k in run.tags).map((k) => [k.replace("shipyard.", ""), run.tags[k]]));
  const metricKeys = Object.keys(run.metrics).sort();
  const charts = metricsSection(run.id, metricKeys); // starts the history requests
  const experiment = await experimentRequest;

  const summary = table([["Field", ([k]) => k], ["Value", ([, v]) => v]], [
    ["Experiment", experiment ? link(`/experiments/${seg(experiment.id)}`, experiment.name) : run.experiment_id],
    ["Status", statusBadge(run.status)],
    ["Started", fmtTime(run.start_time)],
    ["Ended", fmtTime(run.end_time)],
    ["Duration", run.end_time ? fmtDuration(run.end_time - run.start_time) : "running"],
    ["User", run.user],
    ["Parent run", run.parent_run_id ? link(`/runs/${seg(run.parent_run_id)}`, short(run.parent_run_id)) : "none"],
    ["Id", h("code", {}, run.id)],
    ["Lineage", link(`/lineage?node=run:${seg(run.id)}`, "walk this run's lineage")],
  ], { caption: "Summary" });

  return h("div", {},
    pageHeader(`Run ${run.name || short(run.id)}`, statusBadge(run.status)),
    h("div", { class: "grid2" },
      h("div", {}, summary),
      h("div", {}, table([["Metric", ([k]) => k], ["Latest", ([, v]) => fmtValue(v)]], Object.entries(run.metrics).sort(), { caption: "Metrics", empty: "No metrics." }))),
    h("div", { class: "grid2" },
      section("Parameters", kvTable(run.params)),
      section("Tags", kvTable(userTags))),
    section("Environment", kvTable(env, { empty: "No environment recorded." })),
    charts,
    artifactsSection(run.id));
}

function metricsSection(runId, keys) {
  if (!keys.length) return section("Metric charts", h("p", { class: "empty" }, "No metrics logged."));
  const xAxis = h("select", { id: "x-axis" }, h("option", { value: "step" }, "step"), h("option", { value: "time" }, "time"));
  const weight = h("input", { id: "smoothing", type: "range", min: "0", max: "0.99", step: "0.01", value: "0" });
  const chosen = h("select", { id: "chart-keys", multiple: true, size: Math.min(6, keys.length) },
    keys.map((k, i) => h("option", { value: k, selected: i < MAX_CHARTS }, k)));
  const grid = h("div", { class: "charts", id: "charts" });
  const histories = new Map();

  async function draw() {
    const wanted = [...chosen.selectedOptions].map((o) => o.value).slice(0, MAX_CHARTS);
    const axis = xAxis.value;
    grid.setAttribute("aria-busy", "true");
    // reduced on the server along the chosen axis (buckets of steps or of time)
    await Promise.all(wanted.filter((k) => !histories.has(`${axis}:${k}`)).map(async (key) => {
      try {
        histories.set(`${axis}:${key}`, await api(`/runs/${seg(runId)}/metrics/${seg(key)}/history?max_points=2000&axis=${axis}`));
      } catch (error) {
        histories.set(`${axis}:${key}`, error);
      }
    }));
    const time = axis === "time";
    const w = Number(weight.value);
    grid.replaceChildren(...wanted.map((key) => {
      const hist = histories.get(`${axis}:${key}`);
      if (hist instanceof Error) return h("div", { class: "chart" }, h("h3", {}, key), errorBox(hist));
      const title = hist.sampled ? `${key} (${hist.value.length} of ${hist.total} points)` : key;
      return lineChart(title, [{ label: key, x: time ? hist.timestamp : hist.step, y: smooth(hist.value, w) }], { time });
    }));
    grid.removeAttribute("aria-busy");
  }
  xAxis.addEventListener("change", draw);
  weight.addEventListener("change", draw);
  chosen.addEventListener("change", draw);
  draw();
  return section("Metric charts",
    h("div", { class: "toolbar" },
      h("label", { for: "chart-keys" }, "Metrics"), chosen,
      h("label", { for: "x-axis" }, "X axis"), xAxis,
      h("label", { for: "smoothing" }, "Smoothing"), weight),
    grid);
}
