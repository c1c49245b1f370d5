import { api, seg } from "../api.js";
import { h, link, table, fmtTime, pageHeader, section } from "../dom.js";

export async function render() {
  const [{ pipelines }, { schedules }] = await Promise.all([api("/pipelines"), api("/schedules")]);
  return h("div", {},
    pageHeader("Pipelines"),
    table([
      ["Name", (p) => link(`/pipelines/${seg(p.name)}`, p.name)],
      ["Project", (p) => p.project],
      ["Defined in", (p) => h("code", {}, p.ref)],
      ["Updated", (p) => fmtTime(p.updated_at)],
      ["Description", (p) => (p.description || "").split("\n")[0]],
    ], pipelines, { caption: `${pipelines.length} pipeline(s)`, empty: "No pipelines registered yet." }),
    section("Schedules", schedulesTable(schedules)));
}

export function schedulesTable(schedules) {
  return table([
    ["Name", (s) => s.name],
    ["Pipeline", (s) => link(`/pipelines/${seg(s.pipeline)}`, s.pipeline)],
    ["Cron", (s) => h("code", {}, s.cron)],
    ["Time zone", (s) => s.timezone],
    ["Enabled", (s) => (s.enabled === false ? "no" : "yes")],
    ["Last fired", (s) => fmtTime(s.last_fire_at)],
  ], schedules, { empty: "No schedules." });
}
