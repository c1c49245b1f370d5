// A monitor: drift per column over time, performance with labelled counts, alerts, the
// retraining policy's decisions, and every run.
import { api, seg } from "../api.js";
import { lineChart } from "../charts.js";
import { h, link, table, section, kvTable, fmtTime, fmtValue, statusBadge, pageHeader, short } from "../dom.js";

const MAX_DRIFT_SERIES = 8;

export async function render(params) {
  const [monitor, { runs }] = await Promise.all([api(`/monitors/${seg(params.name)}`), api(`/monitors/${seg(params.name)}/runs?limit=500`)]);
  const ordered = [...runs].sort((a, b) => a.window_end - b.window_end);
  const latest = ordered[ordered.length - 1];
  const result = (latest && latest.result) || {};
  const model = monitor.model.split("@")[0].split("/")[0];
  return h("div", {},
    pageHeader(`Monitor ${monitor.name}`, h("span", { class: "muted" }, `project ${monitor.project}`)),
    table([["Field", ([k]) => k], ["Value", ([, v]) => v]], [
      ["Model", link(`/models/${seg(model)}`, monitor.model)],
      ["Window", monitor.window], ["Schedule", monitor.schedule || "none"],
      ["Alerts", (monitor.alerts || []).join("; ")],
      ["Retraining", monitor.options && monitor.options.retrain ? `${monitor.options.retrain.pipeline} on ${monitor.options.retrain.metric}` : "none"],
      ["Runs", runs.length],
    ], { caption: "Configuration" }),
    section("Alerts (latest run)", table([
      ["Rule", ([rule]) => h("code", {}, rule)], ["State", ([, a]) => statusBadge(a.firing ? "firing" : "ok")],
      ["Value", ([, a]) => fmtValue(a.value)], ["Since", ([, a]) => fmtTime(a.since)],
    ], Object.entries(result.alerts || {}), { empty: "No alert rules evaluated yet." })),
    section("Drift per column over time", driftChart(ordered), driftTable(result.drift)),
    section("Performance", performanceTable(ordered)),
    section("Retraining decisions", table([
      ["When", (r) => fmtTime(r.result.retrain.at)], ["Outcome", (r) => statusBadge(r.result.retrain.outcome)],
      ["Champion", (r) => versionScore(r.result.retrain.champion, r.result.retrain.champion_score)],
      ["Candidate", (r) => versionScore(r.result.retrain.candidate, r.result.retrain.candidate_score)],
      ["Reason", (r) => r.result.retrain.reason || r.result.retrain.detail || ""],
      ["Metric", (r) => r.result.retrain.metric], ["Labelled rows", (r) => r.result.retrain.labelled],
      ["Lineage", (r) => link(`/lineage?node=monitor_run:${seg(r.id)}&direction=down`, "what it triggered")],
    ], ordered.filter((r) => r.result && r.result.retrain).reverse(), { empty: "The retraining policy has not acted." })),
    section("Runs", table([
      ["Run", (r) => short(r.id)], ["Status", (r) => statusBadge(r.status)], ["Window", (r) => `${fmtTime(r.window_start)} → ${fmtTime(r.window_end)}`],
      ["Version", (r) => (r.model_version ? link(`/models/${seg(model)}/${r.model_version}`, `v${r.model_version}`) : "")],
      ["Drifted columns", (r) => ((r.result && r.result.drift && r.result.drift.columns) || []).filter((c) => c.drifted).length],
      ["Report", (r) => (r.result && r.result.report ? h("code", {}, String(r.result.report)) : "")],
    ], [...ordered].reverse())),
    section("Options", kvTable(monitor.options)));
}

function versionScore(version, score) {
  if (!version) return "";
  return score === undefined || score === null ? `v${version}` : `v${version} (${fmtValue(score)})`;
}

function driftChart(runs) {
  const scores = new Map();
  runs.forEach((r, index) => {
    for (const c of ((r.result && r.result.drift && r.result.drift.columns) || [])) {
      const test = (c.tests || [])[0];
      if (!test) continue;
      if (!scores.has(c.column)) scores.set(c.column, { x: [], y: [], max: 0 });
      const s = scores.get(c.column);
      s.x.push(index + 1);
      s.y.push(test.statistic);
      s.max = Math.max(s.max, test.statistic);
    }
  });
  if (!scores.size) return h("p", { class: "empty" }, "No drift results yet.");
  const top = [...scores].sort((a, b) => b[1].max - a[1].max).slice(0, MAX_DRIFT_SERIES);
  return h("div", {},
    lineChart(`drift statistic of the ${top.length} most drifted columns, by monitor run`, top.map(([label, s]) => ({ label, x: s.x, y: s.y })), { width: 900, height: 280, xLabel: "monitor run (oldest first)" }));
}

function driftTable(drift) {
  const columns = (drift && drift.columns) || [];
  return table([
    ["Column", (c) => c.column], ["Kind", (c) => c.kind], ["Drifted", (c) => statusBadge(c.drifted ? "fail" : "pass")],
    ["Test", (c) => (c.tests || []).map((t) => `${t.test} ${fmtValue(t.statistic)}${t.p_value === undefined || t.p_value === null ? "" : ` (p ${fmtValue(t.p_value)})`}`).join("; ")],
    ["Reference rows", (c) => c.n_reference], ["Current rows", (c) => c.n_current],
  ], [...columns].sort((a, b) => Number(b.drifted) - Number(a.drifted)), { caption: "Latest window", empty: "" });
}

function performanceTable(runs) {
  const rows = runs.flatMap((r) => ((r.result && r.result.performance && r.result.performance.rows) || []).map((p) => ({ run: r, ...p })));
  const keys = [...new Set(rows.flatMap((p) => Object.keys(p.metrics || {})))].filter((k) => !k.startsWith("estimated_")).sort().slice(0, 6);
  return table([
    ["Window end", (p) => fmtTime(p.run.window_end)], ["Version", (p) => `v${p.version}`],
    ["Predictions", (p) => p.predictions], ["Labelled", (p) => p.labelled],
    ...keys.map((k) => [k, (p) => fmtValue((p.metrics || {})[k])]),
  ], rows.reverse(), { empty: "No performance results yet (labels arrive later)." });
}
