// A pipeline run: its DAG with step states, durations, cache hits and why each step ran
// again (compared with the same step of the pipeline's previous run), and the step logs.
import { api, seg } from "../api.js";
import { drawGraph, COLORS } from "../graph.js";
import { h, link, table, section, kvTable, fmtTime, fmtDuration, statusBadge, pageHeader, short } from "../dom.js";

export async function render(params) {
  const run = await api(`/pipeline-runs/${seg(params.run)}`);
  const [{ step_runs: steps }, { runs }] = await Promise.all([
    api(`/pipeline-runs/${seg(run.id)}/steps`), api(`/pipeline-runs?pipeline=${seg(run.pipeline)}&limit=200`),
  ]);
  const earlier = runs.filter((r) => (r.created_at || 0) < (run.created_at || 0)).sort((a, b) => b.created_at - a.created_at)[0];
  const previous = earlier ? (await api(`/pipeline-runs/${seg(earlier.id)}/steps`)).step_runs : [];
  const before = new Map(previous.map((s) => [s.name, s]));
  const byName = new Map(steps.map((s) => [s.name, s]));
  const dag = run.dag || steps.map((s) => ({ name: s.name, upstream: [] }));

  const container = h("div", { id: "graph", class: "dag", role: "img", "aria-label": `DAG of ${dag.length} steps (listed in the table below)` });
  const logs = h("div", { id: "step-logs", "aria-live": "polite" });
  const showLogs = (step) => logs.replaceChildren(h("h3", {}, `Step ${step.name}`),
    step.error ? h("pre", { class: "error" }, step.error) : null,
    h("pre", {}, step.logs || "(no output)"),
    kvTable(step.params, { caption: "Params" }));
  requestAnimationFrame(() => drawGraph(container,
    dag.map((d) => {
      const s = byName.get(d.name);
      const state = s ? (s.cache_hit ? "CACHED" : s.status) : "PENDING";
      const took = s && s.end_time && s.start_time ? ` ${fmtDuration(s.end_time - s.start_time)}` : "";
      return { id: d.name, label: `${d.name}\n${state.toLowerCase()}${took}`, color: COLORS[state] || "#6b7280" };
    }),
    dag.flatMap((d) => (d.upstream || []).map((u) => ({ source: u, target: d.name, label: "" }))),
    { layout: "ranked", onSelect: (data) => byName.has(data.id) && showLogs(byName.get(data.id)) }));

  return h("div", {},
    pageHeader(`Pipeline run ${short(run.id)}`, statusBadge(run.status)),
    table([["Field", ([k]) => k], ["Value", ([, v]) => v]], [
      ["Pipeline", link(`/pipelines/${seg(run.pipeline)}`, run.pipeline)],
      ["Started", fmtTime(run.start_time || run.created_at)],
      ["Duration", run.end_time && run.start_time ? fmtDuration(run.end_time - run.start_time) : ""],
      ["Executor", run.executor],
      ["Previous run", earlier ? link(`/pipeline-runs/${seg(earlier.id)}`, short(earlier.id)) : "none"],
      ["Lineage", link(`/lineage?node=pipeline_run:${seg(run.id)}`, "walk this run's lineage")],
    ], { caption: "Summary" }),
    run.error ? h("pre", { class: "error" }, run.error) : null,
    section("DAG", container, h("p", { class: "legend-note" }, "Click a step for its logs.")),
    section("Steps", table([
      ["Step", (s) => h("button", { type: "button", class: "secondary", onclick: () => showLogs(s) }, s.name)],
      ["Status", (s) => statusBadge(s.cache_hit ? "cached" : s.status)],
      ["Duration", (s) => (s.end_time && s.start_time ? fmtDuration(s.end_time - s.start_time) : "")],
      ["Attempts", (s) => s.attempts],
      ["Why it ran", (s) => reason(s, before.get(s.name))],
    ], steps)),
    logs,
    section("Params", kvTable(run.params)));
}

// Why a step executed instead of coming from the cache, compared with the previous run.
export function reason(step, previous) {
  if (step.cache_hit) return "from the cache: same code, inputs and params";
  if (step.status === "SKIPPED") return "skipped: an upstream step failed";
  if (!previous) return "first run of this step";
  if (previous.cache_key === step.cache_key) return previous.status === "FINISHED" ? "same cache key: the cache was bypassed" : `the previous attempt ${previous.status.toLowerCase()}`;
  const changed = [];
  if (previous.step !== step.step) changed.push("code location");
  if (JSON.stringify(previous.params) !== JSON.stringify(step.params)) changed.push("params");
  for (const [name, input] of Object.entries(step.inputs || {})) {
    const old = (previous.inputs || {})[name];
    if (!old || JSON.stringify(old.hash) !== JSON.stringify(input.hash)) changed.push(`input ${name}${input.ref ? ` (${input.ref})` : ""}`);
  }
  return changed.length ? `changed: ${changed.join(", ")}` : "changed: the step's code or version";
}
