import { api, seg } from "../api.js";
import { h, link, table, section, fmtTime, fmtDuration, statusBadge, pageHeader, short } from "../dom.js";
import { schedulesTable } from "./pipelines.js";

export async function render(params) {
  const name = params.name;
  const [pipeline, { runs }, { schedules }] = await Promise.all([
    api(`/pipelines/${seg(name)}`), api(`/pipeline-runs?pipeline=${seg(name)}&limit=200`), api("/schedules"),
  ]);
  return h("div", {},
    pageHeader(`Pipeline ${name}`, h("span", { class: "muted" }, `project ${pipeline.project}`)),
    h("p", {}, "Defined in ", h("code", {}, pipeline.ref)),
    pipeline.description ? h("pre", {}, pipeline.description) : null,
    section("Runs", table([
      ["Run", (r) => link(`/pipeline-runs/${seg(r.id)}`, short(r.id))],
      ["Status", (r) => statusBadge(r.status)],
      ["Started", (r) => fmtTime(r.start_time || r.created_at)],
      ["Duration", (r) => (r.end_time && r.start_time ? fmtDuration(r.end_time - r.start_time) : "")],
      ["Executor", (r) => r.executor],
      ["Schedule", (r) => r.schedule || ""],
      ["Resumed from", (r) => (r.resumed_from ? link(`/pipeline-runs/${seg(r.resumed_from)}`, short(r.resumed_from)) : "")],
    ], runs, { empty: "Never run." })),
    section("Schedules", schedulesTable(schedules.filter((s) => s.pipeline === name))));
}
